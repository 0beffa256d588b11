// In-memory model for @node-oauth/oauth2-server: one confidential client, the client
// credentials grant, scopes read and write. Tokens live in a Map until the process exits.

const scopes = ['read', 'write'];
const defaultScope = ['read'];

function createModel(clientId, clientSecret) {
  const client = { id: clientId, grants: ['client_credentials'] };
  const tokens = new Map();

  return {
    async getClient(id, secret) {
      return id === clientId && secret === clientSecret ? client : null;
    },

    // The grant has no resource owner; the library still wants a user.
    async getUserFromClient(c) {
      return c.id === clientId ? { id: 'system' } : null;
    },

    // scope is an array of the requested scope tokens, or undefined when none was sent.
    async validateScope(user, c, scope) {
      if (!scope) {
        return defaultScope;
      }
      return scope.every((s) => scopes.includes(s)) ? scope : false;
    },

    async saveToken(token, c, user) {
      const saved = { ...token, client: c, user };
      tokens.set(token.accessToken, saved);
      return saved;
    },

    async getAccessToken(accessToken) {
      return tokens.get(accessToken) || null;
    },
  };
}

module.exports = createModel;
