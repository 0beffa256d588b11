// The provider of the documented server-to-server scenario, on @node-oauth/express-oauth-server
// in its default configuration: whatever the library does, this provider does.

const express = require('express');
const OAuthServer = require('@node-oauth/express-oauth-server');
const createModel = require('./model');

const clientId = process.env.CLIENT_ID || 'this-client-id-is-for-demo-only';
const clientSecret = process.env.CLIENT_SECRET || 'this-secret-id-is-for-demo-only';
const port = process.env.PORT === undefined || process.env.PORT === '' ? 8080 : Number(process.env.PORT);

const oauth = new OAuthServer({
  model: createModel(clientId, clientSecret),
  accessTokenLifetime: 3600,
});

const app = express();
app.use(express.json());
app.use(express.urlencoded({ extended: false }));

let resource = null;

app.get('/public', (req, res) => {
  res.send('moo');
});

app.post('/token', oauth.token());

app.get('/read-resource', oauth.authenticate(), (req, res) => {
  res.send({ resource });
});

app.post('/write-resource', oauth.authenticate(), (req, res) => {
  resource = req.body.value === undefined ? null : req.body.value;
  res.send({ message: 'resource created' });
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
