//! The TLS 1.3 cipher suites QUIC packet protection uses (RFC 9001 §5.3) and their AEAD
//! usage limits (RFC 9001 §6.6). AES-GCM and ChaCha20-Poly1305 come from aws-lc-rs;
//! AES-128-CCM, which aws-lc-rs lacks, from RustCrypto's `ccm` (its header protection is
//! AES-128, as for AES-128-GCM).

use aws_lc_rs::{aead, hkdf};

/// A TLS 1.3 cipher suite usable for QUIC packet protection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// TLS_AES_128_GCM_SHA256 (0x1301); also protects Initial packets.
    Aes128GcmSha256,
    /// TLS_AES_256_GCM_SHA384 (0x1302).
    Aes256GcmSha384,
    /// TLS_CHACHA20_POLY1305_SHA256 (0x1303).
    ChaCha20Poly1305Sha256,
    /// TLS_AES_128_CCM_SHA256 (0x1304), optional in QUIC (RFC 9001 §5.3) and offered
    /// last; rustls does not negotiate it, a TLS library driving the handshake through
    /// the secrets interface may.
    Aes128CcmSha256,
}

impl CipherSuite {
    /// Every suite, in order of preference.
    pub const ALL: [Self; 4] = [
        Self::Aes128GcmSha256,
        Self::Aes256GcmSha384,
        Self::ChaCha20Poly1305Sha256,
        Self::Aes128CcmSha256,
    ];

    /// The suite with this TLS identifier; `None` for anything else (TLS_AES_128_CCM_8_SHA256,
    /// 0x1305, is not for QUIC: RFC 9001 §5.3).
    pub const fn from_tls_id(id: u16) -> Option<Self> {
        match id {
            0x1301 => Some(Self::Aes128GcmSha256),
            0x1302 => Some(Self::Aes256GcmSha384),
            0x1303 => Some(Self::ChaCha20Poly1305Sha256),
            0x1304 => Some(Self::Aes128CcmSha256),
            _ => None,
        }
    }

    /// The TLS identifier.
    pub const fn tls_id(self) -> u16 {
        match self {
            Self::Aes128GcmSha256 => 0x1301,
            Self::Aes256GcmSha384 => 0x1302,
            Self::ChaCha20Poly1305Sha256 => 0x1303,
            Self::Aes128CcmSha256 => 0x1304,
        }
    }

    /// The length of the AEAD key and of the header-protection key, in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128GcmSha256 | Self::Aes128CcmSha256 => 16,
            Self::Aes256GcmSha384 | Self::ChaCha20Poly1305Sha256 => 32,
        }
    }

    /// The length of the suite's hash, which is the length of its secrets.
    pub const fn hash_len(self) -> usize {
        match self {
            Self::Aes256GcmSha384 => 48,
            Self::Aes128GcmSha256 | Self::ChaCha20Poly1305Sha256 | Self::Aes128CcmSha256 => 32,
        }
    }

    /// How many packets may be sealed with one key before a key update (RFC 9001 §6.6).
    /// ChaCha20-Poly1305 has no limit below 2^62 packets, reported as `u64::MAX`;
    /// AES-128-CCM's is 2^21.5, rounded down.
    pub const fn confidentiality_limit(self) -> u64 {
        match self {
            Self::Aes128GcmSha256 | Self::Aes256GcmSha384 => 1 << 23,
            Self::ChaCha20Poly1305Sha256 => u64::MAX,
            Self::Aes128CcmSha256 => CCM_LIMIT,
        }
    }

    /// How many packets that fail authentication may be received with one key before the
    /// connection must close with AEAD_LIMIT_REACHED (RFC 9001 §6.6).
    pub const fn integrity_limit(self) -> u64 {
        match self {
            Self::Aes128GcmSha256 | Self::Aes256GcmSha384 => 1 << 52,
            Self::ChaCha20Poly1305Sha256 => 1 << 36,
            Self::Aes128CcmSha256 => CCM_LIMIT,
        }
    }

    pub(super) fn hkdf(self) -> hkdf::Algorithm {
        match self {
            Self::Aes256GcmSha384 => hkdf::HKDF_SHA384,
            Self::Aes128GcmSha256 | Self::ChaCha20Poly1305Sha256 | Self::Aes128CcmSha256 => {
                hkdf::HKDF_SHA256
            }
        }
    }

    /// The aws-lc-rs AEAD; `None` for AES-128-CCM, which comes from `ccm`.
    pub(super) fn aead(self) -> Option<&'static aead::Algorithm> {
        match self {
            Self::Aes128GcmSha256 => Some(&aead::AES_128_GCM),
            Self::Aes256GcmSha384 => Some(&aead::AES_256_GCM),
            Self::ChaCha20Poly1305Sha256 => Some(&aead::CHACHA20_POLY1305),
            Self::Aes128CcmSha256 => None,
        }
    }

    pub(super) fn header_protection(self) -> &'static aead::quic::Algorithm {
        match self {
            Self::Aes128GcmSha256 | Self::Aes128CcmSha256 => &aead::quic::AES_128,
            Self::Aes256GcmSha384 => &aead::quic::AES_256,
            Self::ChaCha20Poly1305Sha256 => &aead::quic::CHACHA20,
        }
    }
}

/// AES-128-CCM's confidentiality and integrity limit, 2^21.5 packets (RFC 9001 §6.6).
const CCM_LIMIT: u64 = 2_965_820;

impl std::fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
            Self::Aes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
            Self::ChaCha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
            Self::Aes128CcmSha256 => "TLS_AES_128_CCM_SHA256",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9001_6_6_aead_limits() {
        assert_eq!(
            CipherSuite::Aes128GcmSha256.confidentiality_limit(),
            8_388_608
        );
        assert_eq!(CipherSuite::Aes256GcmSha384.integrity_limit(), 1 << 52);
        assert_eq!(
            CipherSuite::ChaCha20Poly1305Sha256.integrity_limit(),
            68_719_476_736
        );
        assert_eq!(
            CipherSuite::ChaCha20Poly1305Sha256.confidentiality_limit(),
            u64::MAX
        );
    }

    #[test]
    fn tls_ids() {
        for suite in CipherSuite::ALL {
            assert_eq!(CipherSuite::from_tls_id(suite.tls_id()), Some(suite));
        }
        assert_eq!(CipherSuite::from_tls_id(0x1305), None);
        assert_eq!(
            CipherSuite::Aes128CcmSha256.confidentiality_limit(),
            (2f64.powf(21.5)) as u64
        );
    }
}
