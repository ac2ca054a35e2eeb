// A TCP port on loopback that nothing listens on right now (the OS picks it), for a server a script, test or
// benchmark is about to start.
import { once } from "node:events";
import { createServer } from "node:net";

export async function freePort() {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
