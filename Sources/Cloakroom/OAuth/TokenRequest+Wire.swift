import CloakroomCrypto

/// The bytes of a token request that carry the secret, built straight into sodium memory.
///
/// What stays there: a client_secret_post form body (it holds `client_secret`) and the `Basic`
/// credentials with their base64, from the moment they are made until the request is released,
/// and then they are zeroed (`SecureBytes`). A client_secret_basic body holds no secret and is
/// sent from ordinary memory. What cannot (noted where it happens):
/// - the `Authorization` header value must be a Swift `String` (`HTTPHeader`, and AsyncHTTPClient's
///   `HTTPHeaders` after it, hold Strings): one heap copy we cannot zero, released with the request;
/// - when AsyncHTTPClient writes the request, NIO copies the header into an outbound
///   `ByteBuffer` and the body into another (`allocator.buffer(bytes:)`), NIOSSL hands both to
///   BoringSSL, and the kernel holds them in the socket buffer: all freed unzeroed, outside our
///   reach. The body copy is at least made only at write time, not when the request is built.
/// Core dumps are off while a vault is unlocked (`CoreDumps`), so none of these reach a core file.
extension TokenRequest {
    /// The form body of a client_secret_post request: `openBody()` and the client_id and secret.
    func secureBody() -> SecureBytes {
        precondition(authMethod == .clientSecretPost, "only client_secret_post sends its secret in the body")
        let open = openBody()
        return secret.withUnsafeBytes { secret in
            let clientID = Array(clientID.utf8)
            // Percent-encoding at most triples a byte.
            let capacity = open.count + 32 + 3 * (clientID.count + secret.count)
            return SecureBytes.written(capacity: capacity) { put in
                open.forEach(put)
                "&client_id=".utf8.forEach(put)
                FormEncoding.encode(clientID, to: put)
                "&client_secret=".utf8.forEach(put)
                FormEncoding.encode(secret, to: put)
            }
        }
    }

    /// The form body without client credentials: all of it for client_secret_basic, which sends
    /// them in the `Authorization` header. It holds no secret.
    func openBody() -> [UInt8] {
        var form: [(String, String)] = [("grant_type", "client_credentials")]
        if !shape.scopes.isEmpty { form.append(("scope", shape.scopes.joined(separator: " "))) }
        if let audience = shape.audience { form.append(("audience", audience)) }
        return FormEncoding.body(form)
    }

    /// `Basic base64(form(client_id) ":" form(secret))` (RFC 6749 §2.3.1), for client_secret_basic.
    ///
    /// One sodium allocation holds both the plain credentials and their base64 (each allocation
    /// costs `mmap`, `mprotect` and `mlock` calls, and a TLB shootdown on every core when freed):
    /// the plain part is written first, then encoded into the rest; the result is a slice of the
    /// rest, and the whole allocation is zeroed when it is released.
    func secureBasicCredentials() -> SecureBytes {
        secret.withUnsafeBytes { secret in
            let clientID = Array(clientID.utf8)
            let plainCapacity = 3 * (clientID.count + secret.count) + 1  // percent-encoding at most triples a byte
            var plainCount = 0, encodedCount = 0
            let buffer = SecureBytes(count: plainCapacity + 6 + (plainCapacity + 2) / 3 * 4) { out in
                func put(_ byte: UInt8) {
                    precondition(plainCount < plainCapacity, "the capacity of a secure buffer was miscounted")
                    out[plainCount] = byte
                    plainCount += 1
                }
                FormEncoding.encode(clientID, to: put)
                put(UInt8(ascii: ":"))
                FormEncoding.encode(secret, to: put)
                let plain = UnsafeRawBufferPointer(rebasing: out[0..<plainCount])
                let encoded = UnsafeMutableRawBufferPointer(rebasing: out[plainCapacity...])
                for byte in "Basic ".utf8 { encoded[encodedCount] = byte; encodedCount += 1 }
                Base64.encode(plain) { byte in encoded[encodedCount] = byte; encodedCount += 1 }
            }
            return SecureBytes(slice: plainCapacity..<plainCapacity + encodedCount, of: buffer)
        }
    }
}

extension SecureBytes {
    /// Bytes appended one at a time by `write` into a `capacity`-byte sodium allocation; the
    /// result is the part written (a slice, so the whole allocation is zeroed when released).
    static func written(capacity: Int, _ write: (_ put: (UInt8) -> Void) -> Void) -> SecureBytes {
        var length = 0
        let buffer = SecureBytes(count: capacity) { out in
            write { byte in
                precondition(length < out.count, "the capacity of a secure buffer was miscounted")
                out[length] = byte
                length += 1
            }
        }
        return SecureBytes(slice: 0..<length, of: buffer)
    }
}

/// A request body read straight from sodium memory when the transport writes it
/// (`HTTPBody.borrowing`, which reads it byte by byte and never through contiguous storage, so
/// AsyncHTTPClient makes no copy of it when the request is built).
struct SecureBody: RandomAccessCollection, Sendable {
    let bytes: SecureBytes
    var startIndex: Int { 0 }
    var endIndex: Int { bytes.count }
    subscript(position: Int) -> UInt8 { bytes.withUnsafeBytes { $0[position] } }
}
