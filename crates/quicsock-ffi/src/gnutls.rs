//! GnuTLS, loaded at run time: the functions libquic's GnuTLS handshake calls, found with
//! `dlopen("libgnutls.so.30")` on first use (a program that passes a GnuTLS session has
//! GnuTLS loaded already, and gets the same one). Nothing of GnuTLS is needed to build
//! this library, and a program that never uses these functions never loads it.
//!
//! The types and constants are GnuTLS 3.7's ABI (`gnutls/gnutls.h`).

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::OnceLock;

/// `gnutls_session_t`.
pub(crate) type Session = *mut c_void;
/// `gnutls_buffer_t`.
pub(crate) type Buffer = *mut c_void;

/// `gnutls_datum_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub(crate) struct Datum {
    pub(crate) data: *mut u8,
    pub(crate) size: c_uint,
}

pub(crate) const E_SUCCESS: c_int = 0;
pub(crate) const E_AGAIN: c_int = -28;
pub(crate) const E_INTERRUPTED: c_int = -52;
pub(crate) const CLIENT: c_uint = 1 << 1;
pub(crate) const SERVER: c_uint = 1;
pub(crate) const NO_AUTO_SEND_TICKET: c_uint = 1 << 21;
pub(crate) const CRD_PSK: c_int = 4;
pub(crate) const PSK_KEY_HEX: c_int = 1;
pub(crate) const EXT_TLS: c_int = 2;
pub(crate) const EXT_FLAG_CLIENT_HELLO: c_uint = 1 << 1;
pub(crate) const EXT_FLAG_EE: c_uint = 1 << 4;
pub(crate) const EXT_FLAG_TLS: c_uint = 1 << 7;
pub(crate) const LEVEL_INITIAL: c_int = 0;
pub(crate) const LEVEL_EARLY: c_int = 1;
pub(crate) const LEVEL_HANDSHAKE: c_int = 2;
pub(crate) const LEVEL_APPLICATION: c_int = 3;
pub(crate) const HANDSHAKE_KEY_UPDATE: c_int = 24;
pub(crate) const CIPHER_AES_128_GCM: c_int = 10;
pub(crate) const CIPHER_AES_256_GCM: c_int = 11;
pub(crate) const CIPHER_AES_128_CCM: c_int = 19;
pub(crate) const CIPHER_CHACHA20_POLY1305: c_int = 23;

/// `gnutls_handshake_secret_func`.
pub(crate) type SecretFunc =
    unsafe extern "C" fn(Session, c_int, *const c_void, *const c_void, usize) -> c_int;
/// `gnutls_handshake_read_func`.
pub(crate) type ReadFunc =
    unsafe extern "C" fn(Session, c_int, c_int, *const c_void, usize) -> c_int;
/// `gnutls_alert_read_func`.
pub(crate) type AlertFunc = unsafe extern "C" fn(Session, c_int, c_int, c_int) -> c_int;
/// `gnutls_ext_recv_func`.
pub(crate) type ExtRecv = unsafe extern "C" fn(Session, *const u8, usize) -> c_int;
/// `gnutls_ext_send_func`.
pub(crate) type ExtSend = unsafe extern "C" fn(Session, Buffer) -> c_int;

macro_rules! gnutls_api {
    ($( $field:ident: fn($($ty:ty),*) $(-> $ret:ty)?; )*) => {
        /// The GnuTLS functions this library calls.
        #[allow(non_snake_case)]
        pub(crate) struct Api {
            $( pub(crate) $field: unsafe extern "C" fn($($ty),*) $(-> $ret)?, )*
            /// `gnutls_free` (a variable holding the function).
            pub(crate) free: unsafe extern "C" fn(*mut c_void),
        }

        impl Api {
            fn load(lib: *mut c_void) -> Result<Self, String> {
                let sym = |name: &CStr| {
                    // SAFETY: dlsym on a handle dlopen returned, with a NUL-terminated name.
                    let p = unsafe { libc::dlsym(lib, name.as_ptr()) };
                    if p.is_null() {
                        Err(format!("GnuTLS has no {}", name.to_string_lossy()))
                    } else {
                        Ok(p)
                    }
                };
                let free_var = sym(c"gnutls_free")?;
                Ok(Self {
                    $( $field: {
                        let name = concat!("gnutls_", stringify!($field), "\0");
                        let p = sym(CStr::from_bytes_with_nul(name.as_bytes()).expect("a literal with its NUL"))?;
                        // SAFETY: the symbol is GnuTLS's function of this name and C
                        // signature (GnuTLS 3.7's header).
                        unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($ty),*) $(-> $ret)?>(p) }
                    }, )*
                    // SAFETY: gnutls_free is a variable holding a function pointer.
                    free: unsafe { *(free_var as *const unsafe extern "C" fn(*mut c_void)) },
                })
            }
        }
    };
}

gnutls_api! {
    init: fn(*mut Session, c_uint) -> c_int;
    deinit: fn(Session);
    handshake: fn(Session) -> c_int;
    handshake_write: fn(Session, c_int, *const c_void, usize) -> c_int;
    handshake_set_secret_function: fn(Session, SecretFunc);
    handshake_set_read_function: fn(Session, ReadFunc);
    alert_set_read_function: fn(Session, AlertFunc);
    session_ext_register: fn(Session, *const c_char, c_int, c_int, ExtRecv, ExtSend, *const c_void, *const c_void, *const c_void, c_uint) -> c_int;
    buffer_append_data: fn(Buffer, *const c_void, usize) -> c_int;
    cipher_get: fn(Session) -> c_int;
    early_cipher_get: fn(Session) -> c_int;
    session_ticket_send: fn(Session, c_uint, c_uint) -> c_int;
    transport_get_int: fn(Session) -> c_int;
    transport_set_int2: fn(Session, c_int, c_int);
    error_is_fatal: fn(c_int) -> c_int;
    strerror: fn(c_int) -> *const c_char;
    session_get_data2: fn(Session, *mut Datum) -> c_int;
    session_set_data: fn(Session, *const c_void, usize) -> c_int;
    alpn_set_protocols: fn(Session, *const Datum, c_uint, c_uint) -> c_int;
    alpn_get_selected_protocol: fn(Session, *mut Datum) -> c_int;
    priority_set_direct: fn(Session, *const c_char, *mut *const c_char) -> c_int;
    credentials_set: fn(Session, c_int, *mut c_void) -> c_int;
    psk_allocate_client_credentials: fn(*mut *mut c_void) -> c_int;
    psk_free_client_credentials: fn(*mut c_void);
    psk_set_client_credentials: fn(*mut c_void, *const c_char, *const Datum, c_int) -> c_int;
    psk_allocate_server_credentials: fn(*mut *mut c_void) -> c_int;
    psk_free_server_credentials: fn(*mut c_void);
    psk_set_server_credentials_file: fn(*mut c_void, *const c_char) -> c_int;
}

/// GnuTLS, loaded on first use.
pub(crate) fn api() -> Result<&'static Api, String> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(|| {
        // SAFETY: dlopen with a NUL-terminated name; the library stays loaded for the
        // life of the process.
        let lib = unsafe {
            libc::dlopen(
                c"libgnutls.so.30".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_GLOBAL,
            )
        };
        if lib.is_null() {
            return Err("libgnutls.so.30 cannot be loaded (install GnuTLS 3.7 or later)".into());
        }
        Api::load(lib)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// GnuTLS's text for an error code.
pub(crate) fn error_text(api: &Api, code: c_int) -> String {
    // SAFETY: gnutls_strerror returns a static string for any code.
    let p = unsafe { (api.strerror)(code) };
    if p.is_null() {
        return format!("GnuTLS error {code}");
    }
    // SAFETY: a NUL-terminated static string.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
