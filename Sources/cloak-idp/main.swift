import CloakIdP

#if canImport(Glibc)
import Glibc
#endif

// Placeholder until the cloak-idp issue lands: says so and fails, so nobody mistakes it for a server.
let message = "cloak-idp \(CloakIdP.version): not built yet (see the cloak-idp issue).\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(69)
