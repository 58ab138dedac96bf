/// One HTTP request as the library's callers describe it: no NIO type, no HTTP client.
///
/// The transport sends it with no redirect followed, no decompression, HTTP/1.1, and TLS always
/// verified against `caFile` (the only trust root when given) or the system's roots.
package struct HTTPRequest: Sendable {
    package enum Method: String, Sendable {
        case GET, POST, PUT, DELETE
    }

    package var method: Method
    package var url: String
    package var headers: [HTTPHeader]
    package var body: HTTPBody?
    /// A PEM file of the only CA to trust, or `nil` for the system's roots.
    package var caFile: String?

    package init(_ method: Method, _ url: String, headers: [HTTPHeader] = [], body: HTTPBody? = nil, caFile: String? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.caFile = caFile
    }
}

/// One header line, in the order given (a name may repeat).
package struct HTTPHeader: Sendable, Equatable {
    package var name: String
    package var value: String

    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A request body: plain bytes, or bytes that stay in a buffer the caller owns.
package struct HTTPBody: Sendable {
    package let count: Int
    let storage: Storage

    enum Storage: Sendable {
        case bytes([UInt8])
        case borrowed(@Sendable (Int) -> UInt8)
    }

    /// Bytes the transport may copy whenever it likes (they hold nothing secret, or their caller
    /// accepts the copy).
    package static func bytes(_ bytes: [UInt8]) -> HTTPBody {
        HTTPBody(count: bytes.count, storage: .bytes(bytes))
    }

    /// Bytes read from the caller's own buffer (sodium memory, zeroed when released) one at a
    /// time, only when the request is written: the transport keeps no copy of its own before then,
    /// however `bytes` could be read (see `BorrowedBytes`). The buffer must outlive the request.
    package static func borrowing<Bytes: RandomAccessCollection & Sendable>(_ bytes: Bytes) -> HTTPBody
    where Bytes.Element == UInt8, Bytes.Index == Int {
        HTTPBody(count: bytes.count, storage: .borrowed { bytes[bytes.startIndex + $0] })
    }
}
