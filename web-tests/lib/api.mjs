// onramp's API from the journeys: what an admin would do at the API to set up (or check) what a person
// then does in the browser. The access token comes from the client credential the Rust side hands over,
// by the plain client-credentials grant of `POST /auth/v1/token`, and is reused until it is close to expiry.

import assert from 'node:assert/strict';

export class Api {
  constructor(baseUrl, clientId, clientSecret) {
    this.baseUrl = baseUrl;
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.accessToken = undefined;
    this.expiresAt = 0;
  }

  // A bearer token for the credential, fetched once and again a minute before it expires.
  async token() {
    if (this.accessToken && Date.now() < this.expiresAt - 60_000) return this.accessToken;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.clientId,
      client_secret: this.clientSecret,
    });
    const response = await fetch(`${this.baseUrl}/auth/v1/token`, { method: 'POST', body: form });
    const body = await response.json();
    assert.equal(response.status, 200, `POST /auth/v1/token: ${JSON.stringify(body)}`);
    this.accessToken = body.access_token;
    this.expiresAt = Date.now() + body.expires_in * 1000;
    return this.accessToken;
  }

  // One request with the bearer token and a JSON body (for methods that take one); returns
  // `{ status, body }`, the body parsed as JSON (or the text, when it is not JSON).
  async request(method, path, body) {
    const headers = { authorization: `Bearer ${await this.token()}` };
    const init = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: the text is the body.
    }
    return { status: response.status, body: parsed };
  }

  // A request that must answer 200 (or `want`); returns the body, or throws with what came back.
  async ok(method, path, body, want = 200) {
    const response = await this.request(method, path, body);
    assert.equal(response.status, want, `${method} ${path} ${JSON.stringify(body) ?? ''}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  get(path) {
    return this.ok('GET', path);
  }

  post(path, body = {}) {
    return this.ok('POST', path, body);
  }

  put(path, body = {}) {
    return this.ok('PUT', path, body);
  }
}
