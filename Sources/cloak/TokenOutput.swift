import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The shapes `cloak token` prints a token in.
enum TokenOutput {
    static func render(_ grant: TokenBroker.Grant, format: TokenCommand.Format, envVar: String, now: Date,
                       execCredentialVersion: String = ExecCredential.v1) -> String {
        let token = grant.token
        switch format {
        case .raw:
            return token.value + "\n"
        case .header:
            return "Authorization: Bearer \(token.value)\n"
        case .env:
            // `export`: `eval "$(cloak token … --format env)"` then reaches the programs the
            // shell starts, not only the shell. (An agent's `:env` sink has no `export`: systemd's
            // EnvironmentFile= reads bare assignments.)
            return "export \(envVar)='\(token.value)'\nexport \(envVar)_EXPIRES_AT='\(Output.time(token.expiresAt))'\n"
        case .json:
            return grant.document(now: now).text
        case .execCredential:
            return JSON.object([
                "apiVersion": .string(execCredentialVersion),
                "kind": .string("ExecCredential"),
                "status": .object([
                    "token": .string(token.value),
                    "expirationTimestamp": .string(Output.time(token.expiresAt)),
                ]),
            ]).text
        }
    }
}

/// Kubernetes' client-go credential plugin protocol. kubectl names the version it reads in
/// `KUBERNETES_EXEC_INFO` (the `apiVersion` of the kubeconfig's `exec` section) and rejects an
/// answer in any other: v1beta1 is what kubectl before 1.22 and many kubeconfigs still use. Both
/// versions' ExecCredential carry the same `status` fields.
enum ExecCredential {
    static let v1 = "client.authentication.k8s.io/v1"
    static let v1beta1 = "client.authentication.k8s.io/v1beta1"

    /// The version asked for in `KUBERNETES_EXEC_INFO`; v1 when it is not set (run by hand).
    /// - Throws: `UsageError` for a version cloak does not speak, or a variable that is not the
    ///   ExecCredential document kubectl sets.
    static func requestedVersion() throws -> String {
        guard let info = Environment.value("KUBERNETES_EXEC_INFO"), !info.isEmpty else { return v1 }
        guard case .object(let object)? = JSONReader.read(Array(info.utf8)), case .string(let version)? = object["apiVersion"] else {
            throw UsageError("KUBERNETES_EXEC_INFO is not an ExecCredential document with an apiVersion; kubectl sets it when it runs a credential plugin.")
        }
        guard version == v1 || version == v1beta1 else {
            throw UsageError("kubectl asked for an ExecCredential of \(version); cloak answers \(v1) and \(v1beta1). Set one of them as the apiVersion of the kubeconfig's exec section.")
        }
        return version
    }
}
