// GitHub's Octokit (`@octokit/webhooks`) in an Express app.
//
// Follows: the @octokit/webhooks README (https://github.com/octokit/webhooks.js#readme),
// "Usage" and "createNodeMiddleware()": `new Webhooks({ secret })`, `webhooks.onAny(...)`,
// and the middleware used "as an Express.js middleware directly". The middleware reads the
// raw body itself and calls `webhooks.verifyAndReceive`, which checks the signature with
// `verify` (`@octokit/webhooks-methods`).
//
// What the library answers (none of it is this file's choice):
// - 400 when `X-GitHub-Event`, `X-Hub-Signature-256` or `X-GitHub-Delivery` is missing,
//   when the signature does not match, and for a body that is not JSON;
// - 415 unless `Content-Type` is `application/json`;
// - 200 `ok` once the handlers ran, 202 `still processing` if they take over 9 s;
// - the body is decoded as UTF-8 (invalid bytes replaced) before it is verified.
//
// Deliberate choices: the path is `/webhook` (the README's default is `/api/github/webhooks`);
// the handler counts the delivery (`id` is `X-GitHub-Delivery`); no deduplication.
//
// GET /_corpus/processed?message_id=ID is test scaffolding, not part of the documented pattern.
import express from "express";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";

const webhooks = new Webhooks({ secret: process.env.CORPUS_SECRET });
const processed = new Map();

webhooks.onAny(({ id, name }) => {
  processed.set(id, (processed.get(id) ?? 0) + 1);
  void name;
});

const app = express();
app.get("/_corpus/processed", (req, res) => {
  res.json(processed.get(String(req.query.message_id)) ?? 0);
});
app.use(createNodeMiddleware(webhooks, { path: "/webhook" }));

const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
