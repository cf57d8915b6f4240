// test/node/app.js: an example node-postgres client of the user_metadata
// extension.  SuperTokens' POST /updateinfo handler over update_user_metadata,
// Atlas' writeCustomUserData + refreshCustomData flow for a restricted client
// role, and a LISTEN helper for change notifications.
//
// Connection settings come from the libpq environment (PGHOST, which may be a
// unix socket directory, PGPORT, PGUSER, PGDATABASE); node-postgres reads it.
import http from 'node:http';
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
