// Standard Webhooks' npm library (`standardwebhooks`) in an Express app.
//
// Follows: the standard-webhooks JavaScript README (`new Webhook(secret).verify(payload,
// headers)`, https://github.com/standard-webhooks/standard-webhooks/tree/main/libraries/javascript)
// wired into Express as Svix's docs "How to Verify Webhooks with the Svix Libraries",
// "Node.js (Express)" show (https://docs.svix.com/receiving/verifying-payloads/how): the raw
// body from `express.raw({ type: "application/json" })`, every error from `verify` answered
// 400 with `{}`, success answered `res.json({})` (200).
//
// Deliberate choices:
// - the catch returns (`return res.status(400).json({})`), so a rejected request is never
//   processed; the body is a Buffer only for `Content-Type: application/json`;
// - `express.raw()` refuses bodies over its default limit (100 kB) with 413;
// - `verify` parses the JSON after the signature check and answers a signed empty body
//   with `undefined` instead of throwing, so a signed empty body is acknowledged (200);
// - processed at once, keyed by `webhook-id`; no deduplication (the docs show none).
//
// GET /_corpus/processed?message_id=ID is test scaffolding, not part of the documented pattern.
import express from "express";
import { Webhook } from "standardwebhooks";

const secret = process.env.CORPUS_SECRET;
const processed = new Map();
const app = express();

app.post("/webhook", express.raw({ type: "application/json" }), (req, res) => {
  const payload = req.body;
  const headers = req.headers;

  const wh = new Webhook(secret);
  let msg;
  try {
    msg = wh.verify(payload, headers);
  } catch (err) {
    return res.status(400).json({});
  }

  // Do something with the message...
  void msg;
  const id = headers["webhook-id"];
  processed.set(id, (processed.get(id) ?? 0) + 1);

  res.json({});
});

app.get("/_corpus/processed", (req, res) => {
  res.json(processed.get(String(req.query.message_id)) ?? 0);
});

const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
