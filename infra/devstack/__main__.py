"""`python -m infra.devstack` (make dev): the local stack on a fixed port until Ctrl+C."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import time

from infra.devstack.stack import STATE_FILE, LocalStack


def _banner(stack: LocalStack) -> str:
    urls = stack.urls
    lines = [
        f"Switchboard local stack ready in {stack.startup_seconds:.1f} s",
        "",
        f"  web client   {urls['client']}",
        f"  widget       {urls['widget']}",
        f"  simulator    {urls['simulator']}",
        f"  sent mail    {urls['simulator']}mail.html   (what SES sent: notifications, e-mail replies)",
        f"  REST API     {urls['api']}/v1/...",
        f"  WebSocket    {urls['ws']}",
        f"  webhooks     {urls['webhooks']}/{{channel}}/{{inbox_id}}",
        f"  moto         {urls['moto']}   (AWS_ENDPOINT_URL)",
    ]
    operators = stack.demo.get("operators", [])
    if operators:
        lines += ["", "Demo operators (e-mail / password):"]
        lines += [f"  {op.get('email')} / {op.get('password')}   {op.get('name', '')} ({op.get('role', '')})"
                  for op in operators]
    inboxes = stack.demo.get("inboxes", [])
    if inboxes:
        lines += ["", "Demo inboxes:"]
        lines += [f"  {inbox.get('name')} [{inbox.get('channel')}]  "
                  f"{urls['webhooks']}/{inbox.get('channel')}/{inbox['id']}" for inbox in inboxes]
    if not stack.demo:
        lines += ["", "No demo data (started with --no-seed)."]
    lines += ["", f"Everything above, with secrets and physical names: {STATE_FILE}", "Ctrl+C stops the stack."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.devstack", description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="gateway port on 127.0.0.1 (default 8000)")
    parser.add_argument("--no-seed", action="store_true", help="start without the demo tenant")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for chatty in ("botocore", "pynamodb"):  # one line per client created says nothing useful here
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl+C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack = LocalStack().start(gateway_port=args.port, seed=not args.no_seed)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"Port {args.port} is in use (another devstack?): stop it or pick another with --port.", file=sys.stderr)
        return 1
    try:
        print(_banner(stack), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
