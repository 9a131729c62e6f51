"""Print the messages of a Maildir as JSON, decoded (tests/e2e/mail.rs)."""

import json
import mailbox
import sys
from email import policy
from email.parser import BytesParser

out = []
for key, raw in mailbox.Maildir(sys.argv[1], factory=None, create=False).iteritems():
    message = BytesParser(policy=policy.default).parsebytes(raw.as_bytes())
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    out.append({
        "rcpt_to": message["X-RcptTo"],
        "to": message["To"],
        "from": message["From"],
        "subject": message["Subject"],
        "message_id": message["Message-ID"],
        "headers": "\n".join("%s: %s" % (k, v) for k, v in message.items()),
        "text": text.get_content() if text else None,
        "html": html.get_content() if html else None,
    })
print(json.dumps(out))
