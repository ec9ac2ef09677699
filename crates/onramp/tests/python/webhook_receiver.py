"""A webhook receiver for onramp's webhook tests: it verifies every delivery's signature with the
`standardwebhooks` library (the Standard Webhooks reference implementation) and keeps each one it accepts.

Usage: webhook_receiver.py PORT FOLDER

Listens on 127.0.0.1:PORT (0 picks a free port) and prints `webhook receiver listening on 127.0.0.1:<port>`
once it accepts connections. The signing secret (`whsec_...`) is read from FOLDER/secret at each request, so
the test can write it after creating the subscription. A delivery whose signature verifies is answered 204
and kept as FOLDER/<n>.json ({"webhookId", "timestamp", "payload"}), n counting from 1, written under a
temporary name and renamed; one that does not verify is answered 400 and counted in FOLDER/rejected. While
FOLDER/slow exists every answer waits that many seconds first. While FOLDER/fail exists every request is
answered with the status it holds (say 500), unverified and not kept, and the time it came (Unix seconds) is
appended to FOLDER/failures. The receiver exits when its standard input
closes, so it never outlives the test that started it.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    lock = threading.Lock()
    state = {"count": len([n for n in os.listdir(folder) if n.endswith(".json")]), "rejected": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            slow = os.path.join(folder, "slow")
            if os.path.exists(slow):
                with open(slow) as f:
                    time.sleep(float(f.read().strip() or "0"))
            fail = os.path.join(folder, "fail")
            if os.path.exists(fail):
                with open(fail) as f:
                    status = int(f.read().strip() or "500")
                with lock:
                    with open(os.path.join(folder, "failures"), "a") as f:
                        f.write("%f\n" % time.time())
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"failing on purpose")
                return
            with open(os.path.join(folder, "secret")) as f:
                secret = f.read().strip()
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError as error:
                with lock:
                    state["rejected"] += 1
                    with open(os.path.join(folder, "rejected"), "w") as f:
                        f.write(str(state["rejected"]))
                self.send_response(400)
                self.end_headers()
                self.wfile.write(("not verified: %s" % error).encode())
                return
            with lock:
                state["count"] += 1
                name = "%06d.json" % state["count"]
                record = {
                    "webhookId": headers["webhook-id"],
                    "timestamp": headers["webhook-timestamp"],
                    "payload": payload,
                }
                temporary = os.path.join(folder, "." + name + ".tmp")
                with open(temporary, "w") as f:
                    json.dump(record, f)
                os.rename(temporary, os.path.join(folder, name))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("webhook receiver listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
