// Small auth helper for the dashboard (ordinary code: every credential comes from the environment).
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs/promises');
const path = require('node:path');

const TOKEN_STORAGE_KEY = 'dashboard.session';
const AUTH_HEADER = 'Authorization';
const API_KEY_HEADER = 'X-API-Key';
const MAX_TOKENS = 2048;
const tokenTtlMs = 15 * 60 * 1000;

class TokenStore {
  constructor(dir) {
    this.file = path.join(dir, 'tokens.json');
    this.tokens = new Map();
  }

  async load() {
    try {
      const raw = await fs.readFile(this.file, 'utf8');
      for (const [key, value] of Object.entries(JSON.parse(raw))) {
        this.tokens.set(key, value);
      }
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }

  get(userId) {
    const entry = this.tokens.get(userId);
    if (!entry || entry.expiresAt < Date.now()) return undefined;
    return entry.token;
  }

  set(userId, token) {
    this.tokens.set(userId, { token, expiresAt: Date.now() + tokenTtlMs });
  }
}

function authHeaders(token) {
  const headers = { Accept: 'application/json' };
  if (token) {
    headers[AUTH_HEADER] = `Bearer ${token}`;
  } else if (process.env.DASHBOARD_API_KEY) {
    headers[API_KEY_HEADER] = process.env.DASHBOARD_API_KEY;
  }
  return headers;
}

async function login(username, password) {
  const response = await fetch('https://dashboard.example.com/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) {
    throw new Error(`login failed: ${response.status} ${response.statusText}`);
  }
  const { token, refreshToken } = await response.json();
  return { token, refreshToken };
}

function hashPassword(password, salt = crypto.randomBytes(16)) {
  const key = crypto.scryptSync(password, salt, 64);
  return `${salt.toString('hex')}:${key.toString('hex')}`;
}

function verifyPassword(password, stored) {
  const [saltHex, keyHex] = stored.split(':');
  const key = crypto.scryptSync(password, Buffer.from(saltHex, 'hex'), 64);
  return crypto.timingSafeEqual(key, Buffer.from(keyHex, 'hex'));
}

const config = {
  apiBase: process.env.API_BASE || 'http://localhost:8080',
  apiKey: process.env.DASHBOARD_API_KEY,
  password: undefined,
  token: null,
  secretName: 'dashboard-oauth',
  maxTokens: MAX_TOKENS,
  tokenizer: 'cl100k_base',
  commit: '3f2a9c1e5b7d4f60a8e2c91d0b3e5f7a9c1d2e4f',
};

function countTokens(text) {
  return Math.ceil(text.length / 4);
}

const keyboardShortcuts = { save: 'Ctrl+S', search: 'Ctrl+K', monkey: 'M' };

module.exports = { TokenStore, authHeaders, login, hashPassword, verifyPassword, config, countTokens, keyboardShortcuts };
