//! WXBizMsgCrypt-compatible message crypto for WeCom (企业微信) callbacks, the
//! WeCom 智能机器人 JSON callbacks and DingTalk callback crypto (same algorithm,
//! owner key = receive id): AES-256-CBC with the 43-character EncodingAESKey,
//! IV = its first 16 bytes, PKCS#7 padding to 32-byte blocks.
//!
//! * signature = hex_lower(SHA1(concat(sort([token, timestamp, nonce, encrypt]))))
//! * AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[0..16]
//! * plaintext = random(16) ‖ msg_len (u32 BE) ‖ msg ‖ receive_id, PKCS#7-padded
//!   to a **32-byte** block (pad value 1..=32).
//!
//! The cipher is unauthenticated: always call [`MsgCrypt::verify_signature`]
//! (or use [`MsgCrypt::verify_and_decrypt`]) before trusting a plaintext.

use core::fmt;

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq as _;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// WeCom pads PKCS#7-style to 32 bytes (not the AES block size of 16).
const PAD_BLOCK: usize = 32;
/// AES block size.
const AES_BLOCK: usize = 16;
/// Length of the random prefix of every plaintext.
const RANDOM_LEN: usize = 16;
/// Offset of the message after `random16 ‖ u32 len`.
const MSG_OFFSET: usize = RANDOM_LEN + 4;

/// Lenient standard-alphabet decoder: accepts non-canonical trailing bits
/// (real EncodingAESKeys have them; Python/Java decoders ignore them) and
/// padded or unpadded input.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Errors from [`MsgCrypt`].
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CryptoError {
    /// The EncodingAESKey is not base64 or does not decode to 32 bytes.
    #[error("EncodingAESKey is not 43 chars of base64 decoding to 32 bytes")]
    BadKey,
    /// `msg_signature` does not match the computed SHA-1 signature.
    #[error("message signature mismatch")]
    BadSignature,
    /// The ciphertext is not valid base64.
    #[error("ciphertext is not valid base64")]
    BadBase64,
    /// The ciphertext is empty or not a multiple of the AES block size.
    #[error("ciphertext length is not a non-zero multiple of 16 bytes")]
    BadCiphertextLength,
    /// The decrypted data does not end in a valid 32-byte PKCS#7 pad.
    #[error("bad padding in decrypted data")]
    BadPadding,
    /// The plaintext is too short for its header or its declared message length.
    #[error("decrypted data is truncated")]
    Truncated,
    /// The trailing receive id (corpid / suiteid / owner key) is not the expected one.
    #[error("receive id mismatch")]
    ReceiveIdMismatch,
    /// The message is not valid UTF-8.
    #[error("decrypted message is not valid UTF-8")]
    NotUtf8,
}

/// WeCom / DingTalk callback crypto context (one per configured app/bot).
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("token", &"<redacted>")
            .field("key", &"<redacted>")
            .field("receive_id", &self.receive_id)
            .finish()
    }
}

impl MsgCrypt {
    /// Build a context from the console's `Token`, the 43-char `EncodingAESKey`
    /// and the expected receive id (corpid for self-built apps, suiteid for
    /// third-party suites, `""` for 智能机器人 / group robots, the owner key
    /// (corpid / suite key) for DingTalk).
    ///
    /// The key is decoded leniently (non-canonical trailing bits are accepted, a
    /// trailing `=` is optional) and must yield exactly 32 bytes.
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, CryptoError> {
        let trimmed = encoding_aes_key.trim_end_matches('=');
        if trimmed.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        let mut padded = String::with_capacity(44);
        padded.push_str(trimmed);
        padded.push('=');
        let decoded = LENIENT_B64
            .decode(padded.as_bytes())
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = decoded.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            token: token.to_owned(),
            key,
            receive_id: receive_id.to_owned(),
        })
    }

    /// The expected receive id this context checks against.
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// `hex_lower(SHA1(concat(sort([token, timestamp, nonce, encrypt]))))`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        // Byte order of UTF-8 == code point order (what the official SDKs use).
        parts.sort_unstable();
        let mut hasher = Sha1::new();
        for p in parts {
            hasher.update(p.as_bytes());
        }
        let digest = hasher.finalize();
        let mut out = String::with_capacity(digest.len() * 2);
        for b in digest.iter() {
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
        out
    }

    /// Check `msg_signature` against [`Self::signature`] in constant time.
    /// The comparison is exact (lower-case hex, as WeCom/DingTalk send it).
    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CryptoError> {
        let expected = self.signature(timestamp, nonce, encrypt);
        if bool::from(expected.as_bytes().ct_eq(msg_signature.as_bytes())) {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// Decrypt a base64 `Encrypt` / `echostr` / `encrypt` value and return the
    /// message, after checking the pad, the length header and the receive id.
    ///
    /// Does **not** check the signature; see [`Self::verify_and_decrypt`].
    pub fn decrypt(&self, encrypt_b64: &str) -> Result<String, CryptoError> {
        let mut buf = LENIENT_B64
            .decode(encrypt_b64.as_bytes())
            .map_err(|_| CryptoError::BadBase64)?;
        if buf.is_empty() || buf.len() % AES_BLOCK != 0 {
            return Err(CryptoError::BadCiphertextLength);
        }
        self.cbc_decrypt_in_place(&mut buf)?;

        // Strip the PKCS#7-to-32 pad.
        let (&n, _) = buf.split_last().ok_or(CryptoError::BadPadding)?;
        let pad = usize::from(n);
        if pad == 0 || pad > PAD_BLOCK || pad > buf.len() {
            return Err(CryptoError::BadPadding);
        }
        let content_len = buf.len() - pad;
        let (content, pad_bytes) = buf.split_at(content_len);
        if pad_bytes.iter().any(|&b| b != n) {
            return Err(CryptoError::BadPadding);
        }

        // random16 ‖ u32 BE len ‖ msg ‖ receive_id
        let body = content.get(RANDOM_LEN..).ok_or(CryptoError::Truncated)?;
        let (len_bytes, rest) = body
            .split_first_chunk::<4>()
            .ok_or(CryptoError::Truncated)?;
        let msg_len =
            usize::try_from(u32::from_be_bytes(*len_bytes)).map_err(|_| CryptoError::Truncated)?;
        if msg_len > rest.len() {
            return Err(CryptoError::Truncated);
        }
        let (msg, receive_id) = rest.split_at(msg_len);
        let id_ok = receive_id.len() == self.receive_id.len()
            && bool::from(receive_id.ct_eq(self.receive_id.as_bytes()));
        if !id_ok {
            return Err(CryptoError::ReceiveIdMismatch);
        }
        let msg = core::str::from_utf8(msg).map_err(|_| CryptoError::NotUtf8)?;
        Ok(msg.to_owned())
    }

    /// Encrypt `plaintext` exactly like the official SDK's `EncryptMsg` with the
    /// given 16-byte random prefix (the official SDKs use 16 random ASCII
    /// characters; the caller supplies the randomness). Returns standard padded
    /// base64.
    ///
    /// A message longer than `u32::MAX` bytes cannot be represented by the
    /// protocol; its length header saturates at `u32::MAX`.
    pub fn encrypt(&self, plaintext: &str, random16: &[u8; 16]) -> String {
        let msg = plaintext.as_bytes();
        let msg_len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
        let unpadded = MSG_OFFSET + msg.len() + self.receive_id.len();
        let pad = PAD_BLOCK - unpadded % PAD_BLOCK; // 1..=32
        let mut buf = Vec::with_capacity(unpadded + pad);
        buf.extend_from_slice(random16);
        buf.extend_from_slice(&msg_len.to_be_bytes());
        buf.extend_from_slice(msg);
        buf.extend_from_slice(self.receive_id.as_bytes());
        // pad is 1..=32, so the conversion never fails.
        let pad_byte = u8::try_from(pad).unwrap_or(u8::MAX);
        buf.resize(unpadded + pad, pad_byte);
        self.cbc_encrypt_in_place(&mut buf);
        STANDARD.encode(&buf)
    }

    /// [`Self::verify_signature`] then [`Self::decrypt`].
    pub fn verify_and_decrypt(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<String, CryptoError> {
        self.verify_signature(msg_signature, timestamp, nonce, encrypt)?;
        self.decrypt(encrypt)
    }

    fn iv(&self) -> [u8; 16] {
        // IV = AESKey[0..16]; `first_chunk` on a [u8; 32] is always `Some`.
        self.key.first_chunk::<16>().copied().unwrap_or_default()
    }

    /// AES-256-CBC encrypt a buffer whose length is a multiple of 16, in place.
    /// A trailing partial block (never produced by callers) is left untouched.
    fn cbc_encrypt_in_place(&self, buf: &mut [u8]) {
        let iv = self.iv();
        let mut enc = Aes256CbcEnc::new(&self.key.into(), &iv.into());
        let (blocks, _tail) = aes::Block::slice_as_chunks_mut(buf);
        enc.encrypt_blocks(blocks);
    }

    /// AES-256-CBC decrypt in place, no unpadding.
    fn cbc_decrypt_in_place(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let iv = self.iv();
        let mut dec = Aes256CbcDec::new(&self.key.into(), &iv.into());
        let (blocks, tail) = aes::Block::slice_as_chunks_mut(buf);
        if !tail.is_empty() {
            return Err(CryptoError::BadCiphertextLength);
        }
        dec.decrypt_blocks(blocks);
        Ok(())
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble & 0x0f), 16).unwrap_or('0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../tests/vectors/wecom.json");

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).expect("vectors json")
    }

    fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
        let mut cur = v;
        for p in path {
            cur = &cur[*p];
        }
        cur.as_str()
            .unwrap_or_else(|| panic!("missing string at {path:?}"))
    }

    fn r16(s: &str) -> [u8; 16] {
        s.as_bytes().try_into().expect("16-byte random prefix")
    }

    fn village(receive_id: &str) -> MsgCrypt {
        MsgCrypt::new(
            "villagebot",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            receive_id,
        )
        .expect("key")
    }

    /// Encrypt raw plaintext bytes (already padded by the caller) — for crafting
    /// malformed plaintexts.
    fn raw_encrypt(c: &MsgCrypt, mut plain: Vec<u8>) -> String {
        assert_eq!(plain.len() % 16, 0);
        c.cbc_encrypt_in_place(&mut plain);
        STANDARD.encode(&plain)
    }

    fn frame(msg: &[u8], declared_len: u32, receive_id: &[u8]) -> Vec<u8> {
        let mut v = b"0123456789abcdef".to_vec();
        v.extend_from_slice(&declared_len.to_be_bytes());
        v.extend_from_slice(msg);
        v.extend_from_slice(receive_id);
        v
    }

    fn pad32(mut v: Vec<u8>) -> Vec<u8> {
        let pad = 32 - v.len() % 32;
        v.resize(v.len() + pad, pad as u8);
        v
    }

    #[test]
    fn wecom_official_sample() {
        let v = vectors();
        let o = &v["wecom_official_sample"];
        assert_eq!(
            o["encoding_aes_key_is_canonical_base64"],
            Value::Bool(false)
        );
        // The strict engine rejects this key; ours must not.
        assert!(
            STANDARD
                .decode(format!("{}=", s(o, &["encoding_aes_key"])))
                .is_err()
        );
        let c = MsgCrypt::new(
            s(o, &["token"]),
            s(o, &["encoding_aes_key"]),
            s(o, &["corp_id"]),
        )
        .expect("non-canonical key accepted");

        for case in ["verify", "decrypt", "json_decrypt"] {
            let enc_field = if case == "verify" {
                "echostr"
            } else {
                "encrypt"
            };
            let exp_field = if case == "verify" {
                "expected_echo_plaintext"
            } else {
                "expected_plaintext"
            };
            let (sig, ts, nonce, enc) = (
                s(o, &[case, "msg_signature"]),
                s(o, &[case, "timestamp"]),
                s(o, &[case, "nonce"]),
                s(o, &[case, enc_field]),
            );
            assert_eq!(c.signature(ts, nonce, enc), sig, "{case}");
            assert_eq!(c.verify_signature(sig, ts, nonce, enc), Ok(()), "{case}");
            assert_eq!(
                c.verify_and_decrypt(sig, ts, nonce, enc).as_deref(),
                Ok(s(o, &[case, exp_field])),
                "{case}"
            );
        }
        assert_eq!(
            c.decrypt(s(o, &["verify", "echostr"])).as_deref(),
            Ok("1288432023552776189")
        );
    }

    #[test]
    fn wecom_app_callback_xml() {
        let v = vectors();
        let o = &v["wecom_app_callback_xml"];
        let c = MsgCrypt::new(
            s(o, &["token"]),
            s(o, &["encoding_aes_key"]),
            s(o, &["receive_id"]),
        )
        .expect("key");
        let mut key_hex = String::new();
        for b in c.key {
            key_hex.push_str(&format!("{b:02x}"));
        }
        assert_eq!(key_hex, s(o, &["aes_key_hex"]));
        assert_eq!(&key_hex[..32], s(o, &["iv_hex"]));

        let (ts, nonce, enc) = (s(o, &["timestamp"]), s(o, &["nonce"]), s(o, &["encrypt"]));
        assert_eq!(c.signature(ts, nonce, enc), s(o, &["msg_signature"]));
        assert_eq!(
            c.verify_and_decrypt(s(o, &["msg_signature"]), ts, nonce, enc)
                .as_deref(),
            Ok(s(o, &["plaintext"]))
        );
        assert_eq!(c.decrypt(enc).as_deref(), Ok(s(o, &["plaintext"])));
        assert_eq!(
            c.encrypt(s(o, &["plaintext"]), &r16(s(o, &["random16"]))),
            enc
        );
    }

    #[test]
    fn wecom_app_verify_url() {
        let v = vectors();
        let o = &v["wecom_app_verify_url"];
        let c = MsgCrypt::new(
            s(o, &["token"]),
            s(o, &["encoding_aes_key"]),
            s(o, &["receive_id"]),
        )
        .expect("key");
        let (sig, ts, nonce, echo) = (
            s(o, &["msg_signature"]),
            s(o, &["timestamp"]),
            s(o, &["nonce"]),
            s(o, &["echostr"]),
        );
        assert_eq!(c.signature(ts, nonce, echo), sig);
        let body = c.verify_and_decrypt(sig, ts, nonce, echo).expect("echo");
        assert_eq!(body, s(o, &["expected_response_body"]));
        assert_eq!(c.encrypt(&body, &r16(s(o, &["random16"]))), echo);
    }

    #[test]
    fn wecom_padding_full_block() {
        let v = vectors();
        let o = &v["wecom_padding_full_block"];
        let c = MsgCrypt::new(
            "villagebot",
            s(o, &["encoding_aes_key"]),
            s(o, &["receive_id"]),
        )
        .expect("key");
        let enc = s(o, &["encrypt"]);
        let raw = STANDARD.decode(enc).expect("b64");
        assert_eq!(Some(raw.len() as u64), o["ciphertext_bytes"].as_u64());
        let mut plain = raw.clone();
        c.cbc_decrypt_in_place(&mut plain).expect("blocks");
        assert_eq!(
            plain.last().map(|&b| u64::from(b)),
            o["last_plaintext_byte_before_unpad"].as_u64()
        );
        assert!(plain[plain.len() - 32..].iter().all(|&b| b == 32));
        assert_eq!(c.decrypt(enc).as_deref(), Ok(s(o, &["plaintext"])));
        assert_eq!(
            c.encrypt(s(o, &["plaintext"]), &r16(s(o, &["random16"]))),
            enc
        );
    }

    #[test]
    fn wecom_aibot_json_callback() {
        let v = vectors();
        let o = &v["wecom_aibot_json_callback"];
        assert_eq!(s(o, &["receive_id"]), "");
        let c = MsgCrypt::new(s(o, &["token"]), s(o, &["encoding_aes_key"]), "").expect("key");
        let body: Value = serde_json::from_str(s(o, &["post_body"])).expect("body json");
        let enc = body["encrypt"].as_str().expect("encrypt");
        let (ts, nonce) = (s(o, &["timestamp"]), s(o, &["nonce"]));
        assert_eq!(c.signature(ts, nonce, enc), s(o, &["msg_signature"]));
        assert_eq!(
            c.verify_and_decrypt(s(o, &["msg_signature"]), ts, nonce, enc)
                .as_deref(),
            Ok(s(o, &["plaintext"]))
        );
        assert_eq!(
            c.encrypt(s(o, &["plaintext"]), &r16(s(o, &["random16"]))),
            enc
        );

        let pr = &o["passive_reply"];
        let reply: Value = serde_json::from_str(s(pr, &["body"])).expect("reply json");
        let reply_enc = c.encrypt(s(pr, &["plaintext"]), &r16(s(pr, &["random16"])));
        assert_eq!(Some(reply_enc.as_str()), reply["encrypt"].as_str());
        let (rts, rnonce) = (s(pr, &["timestamp"]), s(pr, &["nonce"]));
        assert_eq!(
            reply["timestamp"]
                .as_u64()
                .map(|t| t.to_string())
                .as_deref(),
            Some(rts)
        );
        assert_eq!(reply["nonce"].as_str(), Some(rnonce));
        let sig = c.signature(rts, rnonce, &reply_enc);
        assert_eq!(Some(sig.as_str()), reply["msgsignature"].as_str());
        assert_eq!(
            c.verify_and_decrypt(&sig, rts, rnonce, &reply_enc)
                .as_deref(),
            Ok(s(pr, &["plaintext"]))
        );
    }

    #[test]
    fn dingtalk_callback_crypto_official() {
        let v = vectors();
        let cases = v["dingtalk_callback_crypto_official"]
            .as_array()
            .expect("array");
        assert_eq!(cases.len(), 2);
        for o in cases {
            assert!(STANDARD.decode(format!("{}=", s(o, &["aes_key"]))).is_err());
            let c = MsgCrypt::new(s(o, &["token"]), s(o, &["aes_key"]), s(o, &["owner_key"]))
                .expect("key");
            assert_eq!(
                c.verify_and_decrypt(
                    s(o, &["msg_signature"]),
                    s(o, &["timestamp"]),
                    s(o, &["nonce"]),
                    s(o, &["encrypt"]),
                )
                .as_deref(),
                Ok(s(o, &["expected"]))
            );
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = MsgCrypt::new(
            "supersecrettoken",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            "wwcorp",
        )
        .expect("key");
        let d = format!("{c:?}");
        assert!(!d.contains("supersecrettoken"), "{d}");
        assert!(!d.contains("[0, 1, 2"), "{d}");
        assert!(d.contains("<redacted>"), "{d}");
        assert!(d.contains("wwcorp"), "{d}");
    }

    #[test]
    fn key_forms() {
        let k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        assert!(MsgCrypt::new("t", k, "").is_ok());
        assert!(MsgCrypt::new("t", &format!("{k}="), "").is_ok());
        assert_eq!(
            MsgCrypt::new("t", &k[..42], "").map(|_| ()),
            Err(CryptoError::BadKey)
        );
        assert_eq!(
            MsgCrypt::new("t", &format!("{k}A"), "").map(|_| ()),
            Err(CryptoError::BadKey)
        );
        assert_eq!(
            MsgCrypt::new("t", "", "").map(|_| ()),
            Err(CryptoError::BadKey)
        );
        assert_eq!(
            MsgCrypt::new("t", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*", "").map(|_| ()),
            Err(CryptoError::BadKey)
        );
        // 44 chars of base64 = 33 bytes
        assert_eq!(
            MsgCrypt::new("t", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A", "").map(|_| ()),
            Err(CryptoError::BadKey)
        );
        // multi-byte chars must not panic
        assert_eq!(
            MsgCrypt::new("t", "排排排排排排排排排排排排排排a", "").map(|_| ()),
            Err(CryptoError::BadKey)
        );
    }

    #[test]
    fn negative_signature_and_receive_id() {
        let v = vectors();
        let o = &v["wecom_app_callback_xml"];
        let (sig, ts, nonce, enc) = (
            s(o, &["msg_signature"]),
            s(o, &["timestamp"]),
            s(o, &["nonce"]),
            s(o, &["encrypt"]),
        );
        let wrong_token = MsgCrypt::new(
            "villagebot2",
            s(o, &["encoding_aes_key"]),
            s(o, &["receive_id"]),
        )
        .expect("key");
        assert_eq!(
            wrong_token.verify_and_decrypt(sig, ts, nonce, enc),
            Err(CryptoError::BadSignature)
        );
        let c = village(s(o, &["receive_id"]));
        assert_eq!(
            c.verify_signature(&sig.to_uppercase(), ts, nonce, enc),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            c.verify_signature(&sig[..39], ts, nonce, enc),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            c.verify_signature("", ts, nonce, enc),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            c.verify_signature(sig, "1700000001", nonce, enc),
            Err(CryptoError::BadSignature)
        );

        for wrong in [
            "ww0123456789abcdeX",
            "ww0123456789abcde",
            "ww0123456789abcdef0",
            "",
        ] {
            assert_eq!(
                village(wrong).verify_and_decrypt(sig, ts, nonce, enc),
                Err(CryptoError::ReceiveIdMismatch),
                "{wrong}"
            );
        }
        // aibot ciphertext (receive id "") seen by an app context
        let a = &v["wecom_aibot_json_callback"];
        let body: Value = serde_json::from_str(s(a, &["post_body"])).expect("json");
        assert_eq!(
            village("ww0123456789abcdef").decrypt(body["encrypt"].as_str().expect("enc")),
            Err(CryptoError::ReceiveIdMismatch)
        );
    }

    #[test]
    fn negative_ciphertext_corruption() {
        let v = vectors();
        let o = &v["wecom_app_callback_xml"];
        let c = village(s(o, &["receive_id"]));
        let enc = s(o, &["encrypt"]);
        let raw = STANDARD.decode(enc).expect("b64");

        // flipped last ciphertext byte
        let mut flipped = raw.clone();
        if let Some(b) = flipped.last_mut() {
            *b ^= 0x01;
        }
        assert!(c.decrypt(&STANDARD.encode(&flipped)).is_err());
        // flipping any single byte never panics and never yields the original
        for i in 0..raw.len() {
            let mut f = raw.clone();
            f[i] ^= 0x80;
            assert_ne!(
                c.decrypt(&STANDARD.encode(&f)).as_deref(),
                Ok(s(o, &["plaintext"]))
            );
        }

        // truncated base64
        assert_eq!(
            c.decrypt(&enc[..enc.len() - 3]),
            Err(CryptoError::BadBase64)
        );
        assert_eq!(c.decrypt("!!!!"), Err(CryptoError::BadBase64));
        assert_eq!(
            c.decrypt("4j/AuRx71kQlxVlz bpsMWC7y6"),
            Err(CryptoError::BadBase64)
        );
        // valid base64, length not a multiple of 16
        assert_eq!(
            c.decrypt(&STANDARD.encode(&raw[..raw.len() - 1])),
            Err(CryptoError::BadCiphertextLength)
        );
        assert_eq!(
            c.decrypt(&STANDARD.encode(&raw[..15])),
            Err(CryptoError::BadCiphertextLength)
        );
        assert_eq!(c.decrypt(""), Err(CryptoError::BadCiphertextLength));
        // dropping whole blocks from the end: must not panic
        assert!(c.decrypt(&STANDARD.encode(&raw[..raw.len() - 16])).is_err());
        assert!(c.decrypt(&STANDARD.encode(&raw[..16])).is_err());
    }

    #[test]
    fn negative_crafted_plaintexts() {
        let c = village("ww0123456789abcdef");
        let id = b"ww0123456789abcdef";

        // Sanity: a well-formed crafted frame decrypts.
        let ok = pad32(frame(b"hello", 5, id));
        assert_eq!(
            c.decrypt(&raw_encrypt(&c, ok.clone())).as_deref(),
            Ok("hello")
        );

        // pad byte 0 and 33
        for bad in [0u8, 33, 64, 255] {
            let mut p = ok.clone();
            let len = p.len();
            p[len - 1] = bad;
            assert_eq!(
                c.decrypt(&raw_encrypt(&c, p)),
                Err(CryptoError::BadPadding),
                "pad {bad}"
            );
        }
        // pad bytes not all equal
        let mut p = ok.clone();
        let n = *p.last().expect("non-empty") as usize;
        assert!(n >= 2);
        let len = p.len();
        p[len - n] ^= 1;
        assert_eq!(c.decrypt(&raw_encrypt(&c, p)), Err(CryptoError::BadPadding));
        // pad 32 on a 16-byte plaintext (pad longer than data)
        assert_eq!(
            c.decrypt(&raw_encrypt(&c, vec![32u8; 16])),
            Err(CryptoError::BadPadding)
        );
        // pad 16 with 16 bytes: everything stripped → Truncated
        assert_eq!(
            c.decrypt(&raw_encrypt(&c, vec![16u8; 16])),
            Err(CryptoError::Truncated)
        );
        // content shorter than the 20-byte header
        let mut short = b"0123456789abcdef\0\0".to_vec();
        short.resize(32, 14);
        assert_eq!(
            c.decrypt(&raw_encrypt(&c, short)),
            Err(CryptoError::Truncated)
        );

        // declared msg_len longer than the data
        for declared in [5 + id.len() as u32 + 1, 1000, u32::MAX] {
            let p = pad32(frame(b"hello", declared, id));
            assert_eq!(
                c.decrypt(&raw_encrypt(&c, p)),
                Err(CryptoError::Truncated),
                "{declared}"
            );
        }
        // declared length shorter → receive id absorbs message bytes → mismatch
        let p = pad32(frame(b"hello", 4, id));
        assert_eq!(
            c.decrypt(&raw_encrypt(&c, p)),
            Err(CryptoError::ReceiveIdMismatch)
        );
        // invalid UTF-8 message
        let p = pad32(frame(&[0xff, 0xfe, 0x80], 3, id));
        assert_eq!(c.decrypt(&raw_encrypt(&c, p)), Err(CryptoError::NotUtf8));
        // a 16-byte-aligned (not 32) pad is accepted, like the official SDKs
        let mut p = frame(b"hi", 2, id);
        let pad = 16 - p.len() % 16;
        p.resize(p.len() + pad, pad as u8);
        assert_eq!(c.decrypt(&raw_encrypt(&c, p)).as_deref(), Ok("hi"));
    }

    #[test]
    fn encrypt_sizes() {
        let c = village("");
        for len in 0..100 {
            let msg = "x".repeat(len);
            let enc = c.encrypt(&msg, b"0123456789abcdef");
            let raw = STANDARD.decode(&enc).expect("b64");
            assert_eq!(raw.len() % 32, 0);
            assert!(raw.len() > 20 + len);
            assert_eq!(c.decrypt(&enc).as_deref(), Ok(msg.as_str()));
        }
    }

    proptest! {
        #[test]
        fn decrypt_never_panics(input in ".*") {
            let c = village("ww0123456789abcdef");
            let _ = c.decrypt(&input);
            let _ = c.verify_and_decrypt(&input, &input, &input, &input);
        }

        #[test]
        fn decrypt_never_panics_on_base64_blocks(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let c = village("ww0123456789abcdef");
            let _ = c.decrypt(&STANDARD.encode(&bytes));
            let _ = c.decrypt(&raw_encrypt_padded_any(&c, bytes));
        }

        #[test]
        fn roundtrip(x in any::<String>(), r in any::<[u8; 16]>(), id in "[a-zA-Z0-9]{0,24}") {
            let c = village(&id);
            let enc = c.encrypt(&x, &r);
            prop_assert_eq!(c.decrypt(&enc), Ok(x.clone()));
            let sig = c.signature("1700000000", "nonce", &enc);
            prop_assert_eq!(c.verify_and_decrypt(&sig, "1700000000", "nonce", &enc), Ok(x));
        }
    }

    /// Encrypt arbitrary bytes, zero-extended to a block multiple (so the
    /// decryptor sees attacker-chosen plaintexts).
    fn raw_encrypt_padded_any(c: &MsgCrypt, mut bytes: Vec<u8>) -> String {
        let len = bytes.len().div_ceil(16).max(1) * 16;
        bytes.resize(len, 0);
        raw_encrypt(c, bytes)
    }
}
