#!/usr/bin/env node
// Publish one erasure request (version 1) for erasure-worker, signed, and optionally wait for its
// outcome. The same contract as ../producer-python/publish.py, with amqplib.
//
//   node publish.mjs --url amqp://guest:guest@localhost:5672/%2f --key-id shop --key-env SHOP_SIGNING_KEY \
//       --email ana@example.com [--phone +33612345678] [--user-id u_123] [--id helpdesk=3712] \
//       [--system helpdesk] [--locale fr] [--request-id UUID] [--wait 60]
//
// Exit status: 0 published (with --wait: the request completed); 1 the broker did not take the
// message (no such queue, nack, connection error); 2 no outcome within --wait seconds, or bad
// arguments; 3 the outcome arrived and the request did not complete (failed, rejected, cancelled).

import { createHmac, randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import amqp from "amqplib";

// The events that end a request; the others (deadline_extended, ...) are printed and waited past.
const OUTCOMES = new Set(["erasure.completed", "erasure.failed", "erasure.rejected", "erasure.cancelled"]);

function usage(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      queue: { type: "string", default: "erasure.requests" },
      email: { type: "string", multiple: true, default: [] },
      phone: { type: "string", multiple: true, default: [] },
      "user-id": { type: "string" },
      id: { type: "string", multiple: true, default: [] },
      system: { type: "string", multiple: true, default: [] },
      locale: { type: "string" },
      "request-id": { type: "string" },
      "key-id": { type: "string" },
      "key-env": { type: "string" },
      wait: { type: "string" },
    },
  });
  if (!values.url) usage("--url is required");
  const ids = {};
  for (const item of values.id) {
    const at = item.indexOf("=");
    if (at <= 0 || at === item.length - 1) usage(`--id expects SYSTEM=ID, got ${JSON.stringify(item)}`);
    ids[item.slice(0, at)] = item.slice(at + 1);
  }
  if (!(values.email.length || values.phone.length || values["user-id"] || Object.keys(ids).length)) {
    usage("give at least one of --email, --phone, --user-id, --id");
  }
  const wait = values.wait === undefined ? undefined : Number(values.wait);
  if (wait !== undefined && !(wait > 0)) usage("--wait expects a number of seconds");
  return { ...values, ids, wait };
}

function buildMessage(args, requestId) {
  const subject = {};
  if (args["user-id"]) subject.user_id = args["user-id"];
  if (args.email.length) subject.emails = args.email;
  if (args.phone.length) subject.phones = args.phone;
  if (Object.keys(args.ids).length) subject.ids = args.ids;
  const message = {
    version: 1,
    request_id: requestId,
    subject,
    // When the person asked: the legal one-month clock starts here.
    requested_at: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  if (args.locale) message.locale = args.locale;
  if (args.system.length) message.systems = args.system;
  return message;
}

// x-erasure-key-id and x-erasure-signature: v2=<hex HMAC-SHA256 over "erasure-v2\n", the length
// of reply_to as two big-endian bytes, reply_to, then the exact body bytes>. The worker requires
// it by default (intake.require_signature); an unsigned message is dead-lettered as bad_signature.
function signatureHeaders(args, body, replyTo) {
  if (!args["key-id"]) return {};
  const secret = process.env[args["key-env"] ?? ""];
  if (!secret) usage("--key-id needs --key-env naming a set environment variable");
  const reply = Buffer.from(replyTo ?? "", "utf8");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(reply.length);
  const signed = Buffer.concat([Buffer.from("erasure-v2\n"), length, reply, body]);
  const digest = createHmac("sha256", secret).update(signed).digest("hex");
  return { "x-erasure-key-id": args["key-id"], "x-erasure-signature": `v2=${digest}` };
}

// Resolves with the first outcome event of `requestId` on `queue`, or null after `seconds`.
function outcome(channel, queue, requestId, seconds) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(null), seconds * 1000);
    channel
      .consume(
        queue,
        (message) => {
          if (message === null) return;
          let event;
          try {
            event = JSON.parse(message.content.toString("utf8"));
          } catch {
            return;
          }
          if (event.request_id !== requestId) return;
          console.error(`event: ${event.event} (type ${message.properties.type})`);
          if (OUTCOMES.has(event.event)) {
            clearTimeout(timer);
            resolve({ routingKey: message.fields.routingKey, type: message.properties.type, event });
          }
        },
        { noAck: true },
      )
      .catch(reject);
  });
}

async function main() {
  const args = options();
  const requestId = args["request-id"] ?? randomUUID();
  const body = Buffer.from(JSON.stringify(buildMessage(args, requestId)), "utf8");

  let connection;
  try {
    connection = await amqp.connect(args.url);
  } catch (error) {
    console.error(`error: cannot connect to the broker: ${error.message}`);
    return 1;
  }
  try {
    // A confirm channel: the broker acks (or nacks) every publication.
    const channel = await connection.createConfirmChannel();
    let returned = false;
    channel.on("return", () => {
      returned = true;
    });

    let replyTo;
    if (args.wait !== undefined) {
      // Private reply queue, created before publishing so no reply is missed.
      // (The worker declares erasure.requests itself: never declare it here.)
      replyTo = (await channel.assertQueue("", { exclusive: true, autoDelete: true })).queue;
    }
    const properties = {
      contentType: "application/json",
      persistent: true,
      messageId: requestId,
      replyTo,
      headers: signatureHeaders(args, body, replyTo),
      // Default exchange, routing key = queue name; mandatory: returned if no queue takes it.
      mandatory: true,
    };
    try {
      await new Promise((resolve, reject) =>
        channel.publish("", args.queue, body, properties, (error) => (error ? reject(error) : resolve())),
      );
    } catch {
      console.error("error: the broker refused the message (nack)");
      return 1;
    }
    // basic.return comes before the ack, so `returned` is known once the ack is in.
    if (returned) {
      console.error(
        `error: message unroutable: no queue named ${JSON.stringify(args.queue)} on this broker/vhost ` +
          "(the worker declares it when it starts)",
      );
      return 1;
    }
    if (replyTo === undefined) {
      console.log(requestId);
      return 0;
    }

    console.error(`published request ${requestId}; waiting up to ${args.wait}s for its outcome`);
    const received = await outcome(channel, replyTo, requestId, args.wait);
    if (received === null) {
      console.error(`error: no outcome within ${args.wait}s (request ${requestId})`);
      return 2;
    }
    console.log(`routing key: ${received.routingKey}`);
    console.log(`type: ${received.type}`);
    console.log(JSON.stringify(received.event, null, 2));
    return received.event.event === "erasure.completed" ? 0 : 3;
  } catch (error) {
    console.error(`error: ${error.message}`);
    return 1;
  } finally {
    await connection.close().catch(() => {});
  }
}

process.exitCode = await main();
