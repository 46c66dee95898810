import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";

/** Every local server listens on loopback only: the queues and the stand-in take anything from anyone who reaches them. */
let env: LocalEnvironment;
beforeAll(async () => {
  env = await startLocalEnvironment();
});
afterAll(() => env.close());

const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });

const outsideAddresses = Object.values(networkInterfaces())
  .flat()
  .filter((i) => i && i.family === "IPv4" && !i.internal)
  .map((i) => i?.address as string);

test("the SQS-compatible server and the Clarifai stand-in answer on 127.0.0.1 and nowhere else", async () => {
  const ports = [Number(new URL(env.sqsServer.address).port), Number(new URL(env.standIn?.url ?? "").port)];
  for (const port of ports) {
    expect(await reachable("127.0.0.1", port)).toBe(true);
    for (const address of outsideAddresses)
      expect([address, await reachable(address, port)]).toEqual([address, false]);
  }
});
