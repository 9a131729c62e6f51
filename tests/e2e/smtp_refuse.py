"""An aiosmtpd Maildir handler that refuses, with 550, any recipient whose local part starts
with "refuse" (tests/e2e/mail.rs). Run: python3 -m aiosmtpd -n -c smtp_refuse.Refuse DIR"""

from aiosmtpd.handlers import Mailbox


class Refuse(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refuse"):
            return "550 5.1.1 <%s>: Recipient address rejected: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
