// test/node/app.test.js: app.js against a real database, with node's test
// runner (node --test).  Expects, as test/suites/node.sh sets up: the libpq
// environment naming a database with the user_metadata extension and
// user_metadata.notify = on, and a login role (UM_CLIENT_ROLE, default
// um_node_client) granted only the Atlas-style calls and the table.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { asUser, createServer, listenForChanges, writeCustomUserData } from './app.js';

const clientRole = process.env.UM_CLIENT_ROLE ?? 'um_node_client';
const run = `${process.pid}-${Date.now()}`;	// ids unique to this run
const admin = new pg.Pool();
const client = new pg.Pool({ user: clientRole });
let server;
let baseUrl;
let listener;
const changes = [];

before(async () => {
  server = createServer(admin).listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${server.address().port}`;
  listener = await listenForChanges((change) => changes.push(change));
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await Promise.all([listener.end(), admin.end(), client.end()]);
});

function postUpdateInfo(userId, body) {
  return fetch(`${baseUrl}/updateinfo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': userId },
    body,
  });
}

async function adminCall(sql, params) {
  const { rows } = await admin.query(sql, params);
  return rows[0]?.result;
}

// The changes received up to now.  A marker user is changed in a transaction
// of its own: notifications arrive in commit order, so once the marker's has
// arrived, every one from an earlier commit has too.
let markers = 0;
async function changesSoFar() {
  const marker = `marker-${run}-${++markers}`;
  await admin.query("SELECT user_metadata.update_user_metadata($1, '{}')", [marker]);
  const deadline = Date.now() + 5000;
  while (!changes.some((c) => c.user_id === marker)) {
    assert.ok(Date.now() < deadline, 'no notification within 5 s: is user_metadata.notify on?');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return changes.splice(0).filter((c) => c.user_id !== marker);
}

test('POST /updateinfo merges the patch at the root (SuperTokens example)', async () => {
  const userId = `st-${run}`;
  await admin.query('SELECT user_metadata.set_user_metadata($1, $2)', [userId, JSON.stringify({
    preferences: { theme: 'dark' }, notifications: { email: true }, todos: ['use-text-notifs'],
  })]);
  const expected = { preferences: { theme: 'dark' }, notifications: { sms: true } };

  const res = await postUpdateInfo(userId, JSON.stringify({ notifications: { sms: true }, todos: null }));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: 'successfully updated user metadata', metadata: expected });
  assert.deepEqual(
    await adminCall('SELECT user_metadata.get_user_metadata($1) AS result', [userId]),
    expected,
  );
});

test('POST /updateinfo answers an array patch with 400 and SQLSTATE 22023', async () => {
  const res = await postUpdateInfo(`st-bad-${run}`, '[{"newKey":"data"}]');
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: '22023', message: 'argument "patch" must be a JSON object' });
});

test('update_user_metadata with an array patch rejects with code 22023', async () => {
  await assert.rejects(
    admin.query('SELECT user_metadata.update_user_metadata($1, $2)', [`bad-${run}`, '[1, 2]']),
    { code: '22023', message: 'argument "patch" must be a JSON object' },
  );
});

test('the client role is restricted: no superuser, no BYPASSRLS, no admin API', async () => {
  const { rows } = await client.query(
    'SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user',
  );
  assert.deepEqual(rows, [{ name: clientRole, rolsuper: false, rolbypassrls: false }]);
  await assert.rejects(client.query("SELECT user_metadata.get_user_metadata('anyone')"), { code: '42501' });
});

test('Atlas flow as the client role: write_custom_user_data merges, custom_user_data() reads it back', async () => {
  const userId = `atlas-${run}`;
  await writeCustomUserData(client, userId, { language: 'en', favoriteFood: 'soup' });
  const expected = { language: 'en', favoriteFood: 'pizza', lastUpdated: 1700000000000 };

  const { written, refreshed } = await writeCustomUserData(client, userId, {
    favoriteFood: 'pizza', lastUpdated: 1700000000000,
  });
  assert.deepEqual(written, expected);
  assert.deepEqual(refreshed, expected);
  assert.deepEqual(
    await adminCall('SELECT user_metadata.get_user_metadata($1) AS result', [userId]),
    expected,
  );
});

test("the client role cannot read or change another user's row", async () => {
  const other = `atlas-other-${run}`;
  await admin.query('SELECT user_metadata.set_user_metadata($1, \'{"secret": 1}\')', [other]);

  await asUser(client, `atlas-${run}`, async (c) => {
    const read = await c.query('SELECT metadata FROM user_metadata.user_metadata WHERE user_id = $1', [other]);
    assert.equal(read.rowCount, 0);
    const changed = await c.query(
      'UPDATE user_metadata.user_metadata SET metadata = \'{}\' WHERE user_id = $1', [other]);
    assert.equal(changed.rowCount, 0);
  });
  assert.deepEqual(
    await adminCall('SELECT user_metadata.get_user_metadata($1) AS result', [other]),
    { secret: 1 },
  );
});

test("the user id does not outlive asUser's transaction on a pooled connection", async () => {
  const single = new pg.Pool({ user: clientRole, max: 1 });
  try {
    await writeCustomUserData(single, `atlas-${run}`, {});
    await assert.rejects(single.query('SELECT user_metadata.custom_user_data()'), { code: '28000' });
  } finally {
    await single.end();
  }
});

test('LISTEN gets one notification for a committed transaction that changed a user twice', async () => {
  await changesSoFar();
  const userId = `listen-${run}`;
  await asUser(admin, userId, async (c) => {
    await c.query('SELECT user_metadata.update_user_metadata($1, \'{"a": 1}\')', [userId]);
    await c.query('CALL user_metadata.write_custom_user_data(\'{"b": 2}\', NULL)');
  });
  assert.deepEqual(await changesSoFar(), [{ app_id: 'public', user_id: userId }]);
});

test('LISTEN gets nothing for a rolled-back transaction', async () => {
  await changesSoFar();
  const rolledBack = new Error('roll back');
  await assert.rejects(asUser(admin, `listen-rollback-${run}`, async (c) => {
    await c.query('CALL user_metadata.write_custom_user_data(\'{"a": 1}\', NULL)');
    throw rolledBack;
  }), rolledBack);
  assert.deepEqual(await changesSoFar(), []);
});

test('get_user_metadata_bulk takes a native JS array, no cast (node-postgres sends it untyped)', async () => {
  const ids = [`bulk-a-${run}`, `bulk-none-${run}`, `bulk-a-${run}`];
  await admin.query('SELECT user_metadata.set_user_metadata($1, $2)', [ids[0], JSON.stringify({ n: 1 })]);
  const { rows } = await admin.query('SELECT * FROM user_metadata.get_user_metadata_bulk($1)', [ids]);
  assert.deepEqual(rows, [
    { user_id: ids[0], metadata: { n: 1 } },
    { user_id: ids[1], metadata: {} },
    { user_id: ids[0], metadata: { n: 1 } },
  ]);
  // the reason for its own name: the overloaded get_user_metadata($1) takes
  // the untyped list as one user id
  const trap = await admin.query('SELECT * FROM user_metadata.get_user_metadata($1) AS metadata', [ids]);
  assert.deepEqual(trap.rows, [{ metadata: {} }]);
});
