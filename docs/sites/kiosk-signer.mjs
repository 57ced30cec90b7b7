// The site code signer for a kiosk page: format v1 of mobile_api_docs/en/site-codes.md, with WebCrypto's
// Ed25519 (current Chrome, Edge, Firefox and Safari; Node.js 20 and later). No dependencies.
//
//   import { importSiteKey, siteCode } from "./kiosk-signer.mjs";
//   const key = await importSiteKey(PRIVATE_KEY, PUBLIC_KEY);   // both base64url, as the admin API gave them
//   const text = await siteCode(key, { siteId: 1042, keyNumber: 2 });   // the code for now; draw it as a QR code

const PREFIX = "TPH1:";
const CONTEXT = new TextEncoder().encode("tanpuhui/site-code/v1\0");
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEADER_LENGTH = 11;
const SIGNATURE_LENGTH = 64;

// RFC 4648 base32, upper case, no padding.
function base32(bytes) {
  let text = "";
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      text += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) text += BASE32[(value << (5 - bits)) & 31];
  return text;
}

// The site's private key (the 32-byte seed) and public key, base64url, as a WebCrypto signing key.
export function importSiteKey(privateKey, publicKey) {
  const jwk = { kty: "OKP", crv: "Ed25519", d: privateKey, x: publicKey };
  return crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
}

// The start of the window `at` falls in, in whole minutes since the Unix epoch.
export function windowStart(at, windowMinutes) {
  const minutes = Math.floor(at.getTime() / 60000);
  return minutes - (minutes % windowMinutes);
}

// The code text for the window `at` falls in (now unless given).
export async function siteCode(key, { siteId, keyNumber, windowMinutes = 1, at = new Date() }) {
  if (!Number.isInteger(siteId) || siteId < 1 || siteId > 0xffffffff) throw new RangeError("siteId: 1 to 2^32 - 1");
  if (!Number.isInteger(keyNumber) || keyNumber < 1 || keyNumber > 255) throw new RangeError("keyNumber: 1 to 255");
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > 10) {
    throw new RangeError("windowMinutes: 1 to 10");
  }
  const header = new Uint8Array(HEADER_LENGTH);
  const fields = new DataView(header.buffer);
  fields.setUint8(0, 1); // format version
  fields.setUint32(1, siteId); // DataView writes big-endian unless told otherwise
  fields.setUint8(5, keyNumber);
  fields.setUint32(6, windowStart(at, windowMinutes));
  fields.setUint8(10, windowMinutes);
  const message = new Uint8Array(CONTEXT.length + HEADER_LENGTH);
  message.set(CONTEXT);
  message.set(header, CONTEXT.length);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, message));
  const code = new Uint8Array(HEADER_LENGTH + SIGNATURE_LENGTH);
  code.set(header);
  code.set(signature, HEADER_LENGTH);
  return PREFIX + base32(code);
}
