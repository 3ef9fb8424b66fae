"""A real SMTP server for the e-mail integration tests, built on aiosmtpd.

Prints the port it listens on (127.0.0.1) as the first line of stdout, then writes each
accepted message to --dir as N.json: envelope, authentication and the raw message.
Exits when stdin closes (the test process ended) or after --lifetime seconds.

Options:
  --mode plain|starttls|implicit   plain TCP, STARTTLS required before MAIL, or TLS
                                   from the start (--cert/--key needed for both TLS modes)
  --user U --password P            require authentication with these credentials
  --secret S                       the CRAM-MD5 secret of U
  --mechanisms "PLAIN LOGIN"       the AUTH mechanisms to offer (default: all three)
  --rcpt-reply "451 4.3.0 later"   answer every RCPT with this instead of accepting
"""

import argparse
import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import os
import secrets
import ssl
import sys
from base64 import b64decode

from aiosmtpd.smtp import MISSING, SMTP, AuthResult

ALL_MECHANISMS = ["PLAIN", "LOGIN", "CRAM-MD5"]


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0

    def _check(self, mechanism, identity, login, ok):
        data = {"mechanism": mechanism, "identity": identity, "login": login}
        return AuthResult(success=ok, handled=False, auth_data=data)

    async def auth_PLAIN(self, server, args):
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)
        else:
            blob = b64decode(args[1])
        try:
            identity, login, password = blob.decode().split("\0")
        except ValueError:
            return AuthResult(success=False, handled=False)
        ok = login == self.args.user and password == self.args.password
        return self._check("PLAIN", identity, login, ok)

    async def auth_LOGIN(self, server, args):
        login = await server.challenge_auth("Username:")
        if login is MISSING:
            return AuthResult(success=False)
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return AuthResult(success=False)
        ok = login.decode() == self.args.user and password.decode() == self.args.password
        return self._check("LOGIN", "", login.decode(), ok)

    async def auth_CRAM__MD5(self, server, args):
        challenge = f"<{secrets.randbelow(10**9)}.{os.getpid()}@smtp.test>".encode()
        answer = await server.challenge_auth(challenge)
        if answer is MISSING:
            return AuthResult(success=False)
        login, _, digest = answer.decode().partition(" ")
        want = hmac.new((self.args.secret or "").encode(), challenge, hashlib.md5).hexdigest()
        ok = login == self.args.user and bool(self.args.secret) and hmac.compare_digest(digest, want)
        return self._check("CRAM-MD5", "", login, ok)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.rcpt_reply:
            return self.args.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parsed = {
            "subject": str(msg["subject"]),
            "content_type": msg.get_content_type(),
            "defects": [type(d).__name__ for d in msg.defects],
            "parts": [
                {
                    "type": part.get_content_type(),
                    "content": part.get_content(),
                    "defects": [type(d).__name__ for d in part.defects],
                }
                for part in (msg.iter_parts() if msg.is_multipart() else [])
            ],
        }
        record = {
            "parsed": parsed,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": session.auth_data if isinstance(session.auth_data, dict) else None,
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        path = os.path.join(self.args.dir, f"{self.count}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--mode", choices=["plain", "starttls", "implicit"], default="plain")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--secret")
    p.add_argument("--mechanisms", default=" ".join(ALL_MECHANISMS))
    p.add_argument("--rcpt-reply")
    p.add_argument("--lifetime", type=float, default=300)
    args = p.parse_args()

    context = None
    if args.mode != "plain":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    handler = Handler(args)
    offered = args.mechanisms.split()
    excluded = [m for m in ALL_MECHANISMS if m not in offered]

    def factory():
        return SMTP(
            handler,
            hostname="smtp.test",
            tls_context=context if args.mode == "starttls" else None,
            require_starttls=args.mode == "starttls",
            auth_required=bool(args.user),
            auth_require_tls=args.mode == "starttls",
            auth_exclude_mechanism=excluded,
        )

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(
            factory,
            host="127.0.0.1",
            port=0,
            ssl=context if args.mode == "implicit" else None,
        )
    )
    print(server.sockets[0].getsockname()[1], flush=True)

    def stdin_ready():
        if not os.read(sys.stdin.fileno(), 4096):
            loop.stop()

    loop.add_reader(sys.stdin.fileno(), stdin_ready)
    loop.call_later(args.lifetime, loop.stop)
    loop.run_forever()


if __name__ == "__main__":
    main()
