/**
 * Where plain `http://` may go: to this machine only (a local stand-in), named as such: `localhost`,
 * 127.0.0.0/8 or `[::1]`. Everything that carries a key or a token (Clarifai's API, the Labelbox key's origin, the
 * tools' APIs for the puller and the CLI, mask files) is https elsewhere. One rule, used by each.
 */
export function isLoopbackHost(hostname: string): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/.test(hostname);
}

/** Whether a URL may carry a credential: https, or http to a loopback host. */
export function secureOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}
