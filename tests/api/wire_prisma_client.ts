// Prisma Client on the fixture database (tests/api/test_wire_prisma_client.py): reads a JSON
// list of requests on stdin, answers a JSON list on stdout, each value as a TypeScript caller
// sends it over JSON (bigint → string, Decimal → toJSON(), Date → toISOString(), bytes → base64).
// In requests, {"$date": …}, {"$bigint": …} and {"$bytes": base64} stand for those types.
import { PrismaPg } from '@prisma/adapter-pg'

const { PrismaClient } = await import(process.env.PRISMA_CLIENT_PATH!)
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL! }) })

function revive(value: any): any {
  if (Array.isArray(value)) return value.map(revive)
  if (value && typeof value === 'object') {
    if ('$date' in value) return new Date(value.$date)
    if ('$bigint' in value) return BigInt(value.$bigint)
    if ('$bytes' in value) return Buffer.from(value.$bytes, 'base64')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]))
  }
  return value
}

function wire(value: any): any {
  if (value === null || value === undefined) return value ?? null
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (Array.isArray(value)) return value.map(wire)
  if (typeof value === 'object') {
    if (typeof value.toJSON === 'function' && value.constructor?.name !== 'Object') return value.toJSON()
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v)]))
  }
  return value
}

let input = ''
for await (const chunk of process.stdin) input += chunk
const results: any[] = []
for (const request of JSON.parse(input)) {
  try {
    results.push({ ok: true, value: wire(await (prisma.wireSample as any)[request.op](revive(request.args))) })
  } catch (error: any) {
    results.push({ ok: false, error: String(error?.message ?? error).slice(-400) })
  }
}
process.stdout.write(JSON.stringify(results))
await prisma.$disconnect()
