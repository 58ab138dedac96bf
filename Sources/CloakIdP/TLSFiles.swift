/// A certificate chain and its private key, both PEM files.
public struct TLSFiles: Sendable {
    /// The server certificate, followed by any intermediates.
    public var certificatePath: String
    /// The certificate's private key.
    public var privateKeyPath: String

    /// The two paths.
    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}
