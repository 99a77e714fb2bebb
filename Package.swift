// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sitewarden",
    products: [
        .executable(name: "sitewarden", targets: ["sitewarden"])
    ],
    targets: [
        // One system-library target per C library, each wrapped once (see docs/ARCHITECTURE.md).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libcurl is loaded on first use (dlopen), not linked: only probes need it and its
        // thirty dependencies. Its headers come from libcurl4-openssl-dev.
        .target(name: "CCurl"),
        // toml++ is header-only C++; this bridge exposes a small C API over its parse tree.
        .target(
            name: "CTOMLBridge",
            cxxSettings: [.define("TOML_HEADER_ONLY", to: "1"), .unsafeFlags(["-std=c++17"])]
        ),
        .target(
            name: "SitewardenCore",
            dependencies: ["CSystemd", "CCurl", "CCrypto", "CTOMLBridge"]
        ),
        .executableTarget(name: "sitewarden", dependencies: ["SitewardenCore"]),
        .testTarget(name: "SitewardenCoreTests", dependencies: ["SitewardenCore"]),
    ],
    cxxLanguageStandard: .cxx17
)
