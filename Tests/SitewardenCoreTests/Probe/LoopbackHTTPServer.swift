import Glibc
import Synchronization

/// A small HTTP server on 127.0.0.1 with a free port (or on ::1 only, or on a unix socket),
/// answering each connection as a test scripts it.
///
/// It serves one connection at a time on its own thread (never on Swift's cooperative pool, which
/// blocking `accept` would starve), and stops on `stop()` or, at the latest, after `lifetime`.
final class LoopbackHTTPServer: Sendable {
    /// What the server does with one connection after reading its request head.
    enum Reply: Sendable {
        /// Sends a complete response with `Content-Length` and `Connection: close`, then closes.
        case respond(status: Int, headers: [String] = [], body: String = "")
        /// Sends these bytes verbatim, then closes.
        case raw(String)
        /// Never answers; keeps the connection open until the server stops.
        case silence
        /// Sends a 200 status line, then one header byte per `interval`, forever.
        case drip(interval: Duration)
        /// Announces `bytes` bytes of body and sends them, until the client hangs up.
        case endlessBody(bytes: Int)
        /// Waits `delay`, then responds as `.respond` does.
        case slow(delay: Duration, status: Int, body: String)
        /// Responds with `Connection: keep-alive` and serves the connection's next requests the same way.
        case keepAlive(status: Int, body: String)
    }

    /// Where the server listens.
    enum Address: Sendable {
        case ipv4Loopback
        /// `[::1]` with IPV6_V6ONLY: nothing answers on 127.0.0.1.
        case ipv6LoopbackOnly
        case unixSocket(String)
    }

    let port: UInt16
    private let context: Context
    private let thread: pthread_t

    init(
        on address: Address = .ipv4Loopback, lifetime: Duration = .seconds(30),
        route: @escaping @Sendable (_ path: String) -> Reply
    ) throws {
        let listener: Int32
        switch address {
        case .ipv4Loopback:
            listener = try LoopbackSocket.open()
            port = try LoopbackSocket.localPort(of: listener)
        case .ipv6LoopbackOnly:
            listener = try LoopbackSocket.openIPv6Only()
            port = try LoopbackSocket.localPort6(of: listener)
        case .unixSocket(let path):
            listener = try LoopbackSocket.openUnix(path)
            port = 0
        }
        context = Context(listener: listener, deadline: .now + lifetime, route: route)

        var thread = pthread_t()
        let box = Unmanaged.passRetained(context).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { box in
                Unmanaged<Context>.fromOpaque(box!).takeRetainedValue().serve()
                return nil
            }, box)
        guard rc == 0 else {
            Unmanaged<Context>.fromOpaque(box).release()
            close(listener)
            throw LoopbackSocketError(call: "pthread_create", code: rc)
        }
        self.thread = thread
    }

    /// The request paths seen so far, in arrival order.
    var requestedPaths: [String] {
        context.state.withLock { $0.paths }
    }

    /// Each request as received: head and body, in arrival order.
    var requests: [String] {
        context.state.withLock { $0.requests }
    }

    /// How many connections the server accepted.
    var connections: Int {
        context.state.withLock { $0.connections }
    }

    /// Stops serving, waits for the server thread and closes the listening socket. Idempotent.
    func stop() {
        let first = context.state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        pthread_join(thread, nil)
        close(context.listener)
    }

    deinit {
        stop()
    }

    /// The part of the server its thread uses.
    private final class Context: Sendable {
        struct State {
            var stopping = false
            var paths: [String] = []
            var requests: [String] = []
            var connections = 0
        }

        let listener: Int32
        let deadline: ContinuousClock.Instant
        let route: @Sendable (String) -> Reply
        let state = Mutex(State())

        init(
            listener: Int32, deadline: ContinuousClock.Instant,
            route: @escaping @Sendable (String) -> Reply
        ) {
            self.listener = listener
            self.deadline = deadline
            self.route = route
        }

        var shouldStop: Bool {
            state.withLock { $0.stopping } || .now >= deadline
        }

        func serve() {
            while !shouldStop {
                var pollfd = Glibc.pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&pollfd, 1, 50) == 1 else { continue }
                // accept4 is not visible through the Glibc module, so close-on-exec is set right after.
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { continue }
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                state.withLock { $0.connections += 1 }
                answer(connection)
                close(connection)
            }
        }

        private func answer(_ connection: Int32) {
            // Short socket timeouts let every wait below notice `stop()` promptly.
            LoopbackSocket.setTimeouts(connection, milliseconds: 50)
            guard let path = readRequestPath(connection) else { return }

            switch route(path) {
            case .respond(let status, let headers, let body):
                respond(connection, status: status, headers: headers, body: body)
            case .slow(let delay, let status, let body):
                sleep(for: delay)
                respond(connection, status: status, body: body)
            case .keepAlive(let status, let body):
                repeat {
                    respond(connection, status: status, body: body, keepAlive: true)
                } while readRequestPath(connection) != nil
            case .raw(let text):
                _ = send(connection, Array(text.utf8))
            case .silence:
                while !shouldStop { sleepBriefly() }
            case .drip(let interval):
                guard send(connection, Array("HTTP/1.1 200 OK\r\n".utf8)) else { return }
                while !shouldStop, send(connection, Array("X".utf8)) {
                    sleep(for: interval)
                }
            case .endlessBody(let bytes):
                guard send(connection, Array("HTTP/1.1 200 OK\r\nContent-Length: \(bytes)\r\n\r\n".utf8))
                else { return }
                let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024)
                var sent = 0
                while sent < bytes, send(connection, Array(chunk.prefix(bytes - sent))) {
                    sent += min(chunk.count, bytes - sent)
                }
            }
        }

        private func respond(
            _ connection: Int32, status: Int, headers: [String] = [], body: String, keepAlive: Bool = false
        ) {
            let head =
                ([
                    "HTTP/1.1 \(status) Scripted", "Content-Length: \(body.utf8.count)",
                    keepAlive ? "Connection: keep-alive" : "Connection: close",
                ]
                + headers).joined(separator: "\r\n")
            _ = send(connection, Array("\(head)\r\n\r\n\(body)".utf8))
        }

        /// The path of the request line, once the whole request (head, and a body as long as its
        /// Content-Length) has arrived; the request is recorded.
        private func readRequestPath(_ connection: Int32) -> String? {
            var head: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !shouldStop, head.count < 64 * 1024 {
                let count = recv(connection, &buffer, buffer.count, 0)
                if count > 0 {
                    head += buffer[..<count]
                    let text = String(decoding: head, as: UTF8.self)
                    guard let end = text.firstRange(of: "\r\n\r\n") else { continue }
                    let length =
                        text[..<end.lowerBound].split(separator: "\r\n")
                        .first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingPrefix(" ")) } ?? 0
                    guard text.utf8.count - text[..<end.upperBound].utf8.count >= length else { continue }
                    let requestLine = text.prefix { $0 != "\r" }.split(separator: " ")
                    guard requestLine.count >= 2 else { return nil }
                    let path = String(requestLine[1])
                    state.withLock {
                        $0.paths.append(path)
                        $0.requests.append(text)
                    }
                    return path
                } else if count == 0 || errno != EAGAIN {
                    return nil
                }
            }
            return nil
        }

        /// Sends everything, retrying on the short send timeout; `false` once the peer is gone or we stop.
        private func send(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                if shouldStop { return false }
                // MSG_NOSIGNAL: a client that hangs up must not kill the test process with SIGPIPE.
                let count = bytes[offset...].withUnsafeBytes {
                    Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if count > 0 {
                    offset += count
                } else if errno != EAGAIN {
                    return false
                }
            }
            return true
        }

        private func sleep(for interval: Duration) {
            let end = ContinuousClock.now + interval
            while !shouldStop, .now < end { sleepBriefly() }
        }

        private func sleepBriefly() {
            usleep(20_000)
        }
    }
}

/// A failed socket call in test set-up.
struct LoopbackSocketError: Error, CustomStringConvertible {
    var call: String
    var code: Int32

    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// Loopback socket helpers shared by the test servers.
enum LoopbackSocket {
    /// A TCP socket bound to 127.0.0.1 on a port the kernel picks; listening unless `listen` is false.
    static func open(listening: Bool = true) throws -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return try bound(
            socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0), to: address,
            naming: "127.0.0.1", listening: listening)
    }

    /// A TCP socket listening on [::1] only (IPV6_V6ONLY), on a port the kernel picks.
    static func openIPv6Only() throws -> Int32 {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        if fd >= 0 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return try bound(fd, to: address, naming: "[::1]")
    }

    /// An AF_UNIX stream socket listening at `path`.
    static func openUnix(_ path: String) throws -> Int32 {
        try bound(
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0), to: try unixAddress(path),
            naming: path)
    }

    /// `path` as a unix socket address; throws when it does not fit `sun_path`.
    static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw LoopbackSocketError(call: "sockaddr_un(\(path))", code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        return address
    }

    /// `fd` (from `socket`, checked here) bound to `address` and listening unless `listening` is
    /// false; closed when anything fails, and the failing call named with `name`.
    static func bound<Address>(_ fd: Int32, to address: Address, naming name: String, listening: Bool = true)
        throws -> Int32
    {
        guard fd >= 0 else { throw LoopbackSocketError(call: "socket for \(name)", code: errno) }
        var address = address
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
        guard bound == 0, !listening || listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw LoopbackSocketError(call: "bind/listen \(name)", code: code)
        }
        return fd
    }

    static func localPort(of fd: Int32) throws -> UInt16 {
        UInt16(bigEndian: try localAddress(of: fd, as: sockaddr_in.self).sin_port)
    }

    static func localPort6(of fd: Int32) throws -> UInt16 {
        UInt16(bigEndian: try localAddress(of: fd, as: sockaddr_in6.self).sin6_port)
    }

    private static func localAddress<Address>(of fd: Int32, as _: Address.Type) throws -> Address {
        let address = UnsafeMutablePointer<Address>.allocate(capacity: 1)
        defer { address.deallocate() }
        var length = socklen_t(MemoryLayout<Address>.size)
        let rc = address.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        guard rc == 0 else { throw LoopbackSocketError(call: "getsockname", code: errno) }
        return address.pointee
    }

    static func setTimeouts(_ fd: Int32, milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(fd, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
    }
}
