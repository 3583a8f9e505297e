// The Node + Prisma reference of `make bench`: what app-web's developers would write instead of
// calling app-api — `node:http` and the Prisma 7 client (`prisma-client` generator, query
// compiler, `@prisma/adapter-pg` over a `pg` pool of PRISMA_POOL_SIZE connections).
//
// Serves the four operations the bench compares, with app-api's JSON shapes:
//   GET   /pages/{id}       a Page (ISO dates), ETag
//   GET   /pages/?limit=20  {"data": [...], "nextCursor": str|null, "count": null},
//                           orderBy createdAt desc, id desc
//   POST  /pages/           201, Location, ETag; id (cuid) and updatedAt set by Prisma's client;
//                           slug from the body, else derived from the title
//   PATCH /pages/{id}       200, ETag; updatedAt set by Prisma's client
//   GET   /ready            SELECT 1 (the harness waits for it)
// Auth is checked as app-api checks it: `Authorization: Bearer <HS256 JWT>`, signature and `exp`
// verified, the scope required (pages:read / pages:write), verified tokens cached until they
// expire. Not done (app-api does them): an access log, request ids, problem+json bodies, full
// input validation (here: a field allow-list and a required title).
//
// Run by bench/run.py as `node --import tsx server.ts` with PORT, DATABASE_URL, SECRET_KEY and
// PRISMA_POOL_SIZE in the environment, after `npm ci` and `prisma generate` (into ./generated).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

import { PrismaPg } from "@prisma/adapter-pg";

import { Prisma, PrismaClient } from "./generated/prisma/client.ts";

const PORT = Number(process.env.PORT ?? "8300");
const POOL_SIZE = Number(process.env.PRISMA_POOL_SIZE ?? "10");
const SECRET = Buffer.from(process.env.SECRET_KEY ?? "", "utf8");
const MAX_BODY = 1024 * 1024;
const LIST_LIMIT = 20;
const WRITABLE = new Set([
  "title",
  "slug",
  "summary",
  "body",
  "published",
  "status",
  "tags",
  "views",
  "metadata",
  "publishedAt",
  "authorId",
]);

const adapter = new PrismaPg({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE });
const prisma = new PrismaClient({ adapter });

// ------------------------------------------------------------------------------------ auth

type Principal = { exp: number; scopes: Set<string> };
const verified = new Map<string, Principal>();
const CACHE_SIZE = 1024;

function b64url(value: string): Buffer {
  return Buffer.from(value, "base64url");
}

function decode(token: string): Principal | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [head, body, signature] = parts;
  const header = JSON.parse(b64url(head).toString("utf8"));
  if (header.alg !== "HS256") return null;
  const expected = createHmac("sha256", SECRET).update(`${head}.${body}`).digest();
  const given = b64url(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = JSON.parse(b64url(body).toString("utf8"));
  if (typeof claims.exp !== "number") return null;
  const scope = typeof claims.scope === "string" ? claims.scope : "";
  return { exp: claims.exp, scopes: new Set(scope.split(" ").filter(Boolean)) };
}

/** The caller may do `scope`: a valid, unexpired token that carries it. */
function allowed(request: IncomingMessage, scope: string): boolean {
  const header = request.headers.authorization;
  if (!header?.startsWith("Bearer ")) return false;
  const token = header.slice(7);
  let principal = verified.get(token);
  if (principal === undefined) {
    try {
      principal = decode(token) ?? undefined;
    } catch {
      principal = undefined;
    }
    if (principal === undefined) return false;
    if (verified.size >= CACHE_SIZE) verified.clear();
    verified.set(token, principal);
  }
  if (principal.exp <= Date.now() / 1000) return false;
  return principal.scopes.has(scope);
}

// -------------------------------------------------------------------------------- responses

function send(
  response: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(payload);
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

function sendPage(
  response: ServerResponse,
  status: number,
  page: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(page);
  const etag = `"${createHash("sha1").update(body).digest("hex")}"`;
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    ETag: etag,
    ...headers,
  });
  response.end(body);
}

function problem(response: ServerResponse, status: number, detail: string): void {
  send(response, status, { status, detail });
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk as Buffer);
  }
  const value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
}

/** Only the Page fields a client may write; null when an unknown field is sent. */
function writable(input: Record<string, unknown>): Record<string, unknown> | null {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!WRITABLE.has(key)) return null;
    data[key] = key === "publishedAt" && typeof value === "string" ? new Date(value) : value;
  }
  return data;
}

function slugify(title: string): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[^\x00-\x7f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 192)
    .replace(/-+$/, "");
  return slug || "page";
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Prisma.PrismaClientKnownRequestError ? error.code : undefined;
}

// ----------------------------------------------------------------------------------- routes

const LIST_ORDER = [{ createdAt: "desc" as const }, { id: "desc" as const }];

async function listPages(response: ServerResponse, url: URL): Promise<void> {
  const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? LIST_LIMIT), 1), 100);
  const rows = await prisma.page.findMany({ orderBy: LIST_ORDER, take: limit + 1 });
  let nextCursor: string | null = null;
  if (rows.length > limit) {
    rows.length = limit;
    const last = rows[limit - 1];
    const position = JSON.stringify(["-createdAt", last.createdAt.toISOString(), last.id]);
    nextCursor = Buffer.from(position).toString("base64url");
  }
  send(response, 200, { data: rows, nextCursor, count: null });
}

async function getPage(response: ServerResponse, id: string): Promise<void> {
  const page = await prisma.page.findUnique({ where: { id } });
  if (page === null) return problem(response, 404, `No page with id ${id}.`);
  sendPage(response, 200, page);
}

async function createPage(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const input = await readJson(request);
  const data = input && writable(input);
  if (!data || typeof data.title !== "string" || !data.title.trim()) {
    return problem(response, 422, "A JSON object with a title is required.");
  }
  data.slug ??= slugify(data.title);
  try {
    const page = await prisma.page.create({ data: data as Prisma.PageUncheckedCreateInput });
    sendPage(response, 201, page, { Location: `/pages/${page.id}` });
  } catch (error) {
    if (errorCode(error) === "P2002") return problem(response, 409, "The slug is taken.");
    throw error;
  }
}

async function updatePage(
  request: IncomingMessage,
  response: ServerResponse,
  id: string,
): Promise<void> {
  const input = await readJson(request);
  const data = input && writable(input);
  if (!data) return problem(response, 422, "A JSON object of Page fields is required.");
  try {
    const page = await prisma.page.update({
      where: { id },
      data: data as Prisma.PageUncheckedUpdateInput,
    });
    sendPage(response, 200, page);
  } catch (error) {
    const code = errorCode(error);
    if (code === "P2025") return problem(response, 404, `No page with id ${id}.`);
    if (code === "P2002") return problem(response, 409, "The slug is taken.");
    throw error;
  }
}

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const path = url.pathname;
  const method = request.method ?? "GET";
  if (path === "/ready") {
    await prisma.$queryRaw`SELECT 1`;
    return send(response, 200, { status: true });
  }
  if (!path.startsWith("/pages/")) return problem(response, 404, "Not found.");
  const id = decodeURIComponent(path.slice("/pages/".length));
  const scope = method === "GET" ? "pages:read" : "pages:write";
  if (!allowed(request, scope)) return problem(response, 401, "A valid bearer token is required.");
  if (id === "") {
    if (method === "GET") return listPages(response, url);
    if (method === "POST") return createPage(request, response);
  } else if (!id.includes("/")) {
    if (method === "GET") return getPage(response, id);
    if (method === "PATCH") return updatePage(request, response, id);
  }
  return problem(response, 405, "Method not allowed.");
}

const server = createServer((request, response) => {
  route(request, response).catch((error: unknown) => {
    if (error instanceof SyntaxError) return problem(response, 400, "Malformed JSON.");
    console.error(error);
    if (!response.headersSent) problem(response, 500, "Internal error.");
    else response.destroy();
  });
});

await prisma.$connect();
server.listen(PORT, "127.0.0.1", () => {
  console.log(`prisma-node reference on 127.0.0.1:${PORT}, pool ${POOL_SIZE}`);
});

function stop(): void {
  server.close();
  prisma.$disconnect().finally(() => process.exit(0));
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
