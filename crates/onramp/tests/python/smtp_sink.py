"""An SMTP server for onramp's mail tests: it accepts every message and keeps it as a file.

Usage: smtp_sink.py PORT FOLDER

Listens on 127.0.0.1:PORT (0 picks a free port) and prints `smtp sink listening on 127.0.0.1:<port>` once it
accepts connections. Each message received becomes FOLDER/<n>.json, n counting from 1, holding
{"mailFrom": ..., "rcptTos": [...], "data": <the raw message>}; it is written under a temporary name and
renamed, so a reader never sees half of one. A recipient whose local part starts with `bounce` is refused
with 550, as a real server refuses an unknown mailbox. The sink exits when its standard input closes, so it
never outlives the test that started it.
"""

import asyncio
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("bounce"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
        }
        name = "%06d.json" % self.count
        temporary = os.path.join(self.folder, "." + name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(record, file)
        os.replace(temporary, os.path.join(self.folder, name))
        return "250 Message accepted for delivery"


async def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    loop = asyncio.get_running_loop()
    handler = Sink(folder)
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", port)
    print("smtp sink listening on 127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    # Serve until the parent closes our standard input (or dies, which closes it too).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
