// test/node/app.js: an example node-postgres client of the user_metadata
// extension.  SuperTokens' POST /updateinfo handler over update_user_metadata,
// Atlas' writeCustomUserData + refreshCustomData flow for a restricted client
// role, and a LISTEN helper for change notifications.
//
// Connection settings come from the libpq environment (PGHOST, which may be a
// unix socket directory, PGPORT, PGUSER, PGDATABASE); node-postgres reads it.
//
// Run directly (`node app.js`, or test/node/run-example, which sets up a
// throwaway cluster first), it walks through the three flows and prints what
// happens: it needs the extension in PGDATABASE, PGUSER allowed to call
// update_user_metadata, user_metadata.notify = on for the database, and the
// client role UM_CLIENT_ROLE (default um_node_client) with the client grants
// of the README (test/node/setup.sql does all of it).
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

// Class 22 (data exception: a patch that is not an object, an empty user id)
// is the caller's fault; 54 (program limit: a document over
// user_metadata.max_document_bytes) is a body that is too large.
function httpStatusOf(err) {
  if (err.code?.startsWith('22')) return 400;
  if (err.code?.startsWith('54')) return 413;
  return 500;
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// The seed's handler.  The x-user-id header stands in for verifySession():
// only a trusted tier that has authenticated the user may name them.
export function createServer(pool) {
  return http.createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/updateinfo') {
      return sendJson(res, 404, { message: 'not found' });
    }
    const userId = req.headers['x-user-id'];
    if (!userId) return sendJson(res, 401, { message: 'no session' });
    let patch;
    try {
      patch = JSON.parse(await readBody(req));
    } catch (err) {
      return sendJson(res, 400, { message: `body is not JSON: ${err.message}` });
    }
    try {
      // Stringify: node-postgres would send a JS array as a PostgreSQL array
      // literal, not as JSON; this way PostgreSQL judges the patch itself.
      const { rows } = await pool.query(
        'SELECT user_metadata.update_user_metadata($1, $2) AS metadata',
        [userId, JSON.stringify(patch)],
      );
      sendJson(res, 200, { message: 'successfully updated user metadata', metadata: rows[0].metadata });
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 500) {
        console.error(err);
        return sendJson(res, 500, { message: 'internal error' });
      }
      sendJson(res, status, { code: err.code, message: err.message });
    }
  });
}

// Run work(client) in one transaction on behalf of userId: the identity is a
// transaction-local setting, so it cannot leak to the pool's next borrower.
export async function asUser(pool, userId, work) {
  const client = await pool.connect();
  let broken;
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('user_metadata.user_id', $1, true)", [userId]);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // a connection that cannot even roll back is discarded, not pooled
    await client.query('ROLLBACK').catch((rollbackErr) => { broken = rollbackErr; });
    throw err;
  } finally {
    client.release(broken);
  }
}

// Atlas' writeCustomUserData(newData) then user.refreshCustomData(), with the
// caller's rights: row-level security confines the pool's role to userId's row.
export function writeCustomUserData(pool, userId, newData) {
  return asUser(pool, userId, async (client) => {
    const written = await client.query(
      'CALL user_metadata.write_custom_user_data($1, NULL)',
      [JSON.stringify(newData)],
    );
    const refreshed = await client.query('SELECT user_metadata.custom_user_data() AS custom_data');
    return { written: written.rows[0].custom_data, refreshed: refreshed.rows[0].custom_data };
  });
}

// Call onChange({ app_id, user_id }) for every committed change of a document
// (needs user_metadata.notify = on for the writers).  LISTEN holds its own
// connection, not a pooled one; end the returned client to stop.  A real app
// also handles its 'error' event: reconnect, LISTEN again and re-read, since
// changes made while disconnected are not replayed.
export async function listenForChanges(onChange, config) {
  const client = new pg.Client(config);
  await client.connect();
  client.on('notification', (msg) => {
    if (msg.channel === 'user_metadata') onChange(JSON.parse(msg.payload));
  });
  await client.query('LISTEN user_metadata');
  return client;
}

// The walk-through of `node app.js`.
async function main() {
  const admin = new pg.Pool();
  const client = new pg.Pool({ user: process.env.UM_CLIENT_ROLE ?? 'um_node_client' });
  const changes = [];
  const listener = await listenForChanges((change) => changes.push(change));
  const server = createServer(admin);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${server.address().port}/updateinfo`;
    const post = async (body) => {
      const res = await fetch(url, { method: 'POST', headers: { 'x-user-id': 'example-user' }, body });
      console.log(`POST /updateinfo ${body} -> ${res.status} ${await res.text()}`);
    };
    await post('{"preferences": {"theme": "dark"}, "notifications": {"email": true}, "todos": ["use-text-notifs"]}');
    await post('{"notifications": {"sms": true}, "todos": null}');
    await post('["not", "an", "object"]');

    const { written, refreshed } = await writeCustomUserData(client, 'example-user', { favoriteFood: 'pizza' });
    console.log('writeCustomUserData as the client role:', JSON.stringify(written));
    console.log('refreshCustomData:', JSON.stringify(refreshed));

    // Notifications arrive after each commit; give them a moment
    for (let i = 0; i < 50 && changes.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    console.log(`change notifications received: ${changes.map((c) => JSON.stringify(c)).join(' ')}`);
  } finally {
    server.close();
    await listener.end();
    await Promise.all([admin.end(), client.end()]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
