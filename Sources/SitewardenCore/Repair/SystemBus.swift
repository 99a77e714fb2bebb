import CSystemd
import Glibc

/// Why an sd-bus operation failed, before the caller adds which unit and step it was for.
struct BusFailure: Error {
    var cause: UnitControlError.Cause

    /// The failure for a negative return value of an sd-bus function, preferring the D-Bus error
    /// the peer sent, when there is one, over the bare errno.
    init(returned code: Int32, error: sd_bus_error? = nil) {
        if let error, let name = error.name {
            cause = .busError(name: String(cString: name), message: error.message.map { String(cString: $0) } ?? "")
        } else {
            cause = .errno(-code)
        }
    }

    init(_ cause: UnitControlError.Cause) {
        self.cause = cause
    }
}

/// One sd-bus connection, flushed and closed in `deinit`; the only place sitewarden calls sd-bus.
///
/// Not thread-safe: like every sd-bus object it must stay on one thread or serial queue.
final class SystemBus {
    private let bus: OpaquePointer

    /// Connects to the system bus when `address` is `nil`, else directly to `address`
    /// (an sd-bus address such as `unix:path=/run/systemd/private`).
    init(address: String?) throws(BusFailure) {
        var bus: OpaquePointer?
        let code = address.map { Self.connect(&bus, to: $0) } ?? sd_bus_open_system(&bus)
        guard code >= 0, let bus else {
            throw BusFailure(returned: code < 0 ? code : -EIO)
        }
        self.bus = bus
    }

    deinit {
        sd_bus_flush_close_unref(bus)
    }

    /// Whether a broker (dbus-daemon) sits between us and systemd, so that messages carry a
    /// verified sender name; direct connections such as systemd's private socket have none.
    var isBusClient: Bool {
        sd_bus_is_bus_client(bus) > 0
    }

    /// Calls `member` with string arguments, waits up to `timeout` for the reply and lets `read`
    /// parse it while the reply is alive.
    func call<Value>(
        _ member: String,
        on object: BusObject,
        arguments: [String],
        timeout: Duration,
        read: (BusMessage) throws(BusFailure) -> Value
    ) throws(BusFailure) -> Value {
        var message: OpaquePointer?
        let created = sd_bus_message_new_method_call(
            bus, &message, object.destination, object.path, object.interface, member)
        guard created >= 0, let message else { throw BusFailure(returned: created) }
        defer { sd_bus_message_unref(message) }

        for argument in arguments {
            try BusMessage(message).append(argument)
        }

        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let called = sd_bus_call(bus, message, timeout.busMicroseconds, &error, &reply)
        guard called >= 0, let reply else { throw BusFailure(returned: called < 0 ? called : -EIO, error: error) }
        defer { sd_bus_message_unref(reply) }

        return try read(BusMessage(reply))
    }

    /// Registers `handler` for a signal; it runs inside `process()` with `userdata`, until the
    /// returned slot is released.
    func matchSignal(
        sender: String?,
        on object: BusObject,
        member: String,
        handler: sd_bus_message_handler_t,
        userdata: UnsafeMutableRawPointer
    ) throws(BusFailure) -> BusSlot {
        var slot: OpaquePointer?
        let code = sd_bus_match_signal(
            bus, &slot, sender, object.path, object.interface, member, handler, userdata)
        guard code >= 0, let slot else { throw BusFailure(returned: code < 0 ? code : -EIO) }
        return BusSlot(slot)
    }

    /// Reads and dispatches at most one incoming message; `false` when there was nothing to do.
    func process() throws(BusFailure) -> Bool {
        let code = sd_bus_process(bus, nil)
        guard code >= 0 else { throw BusFailure(returned: code) }
        return code > 0
    }

    /// Blocks until the connection has something to process or `timeout` passes.
    func wait(upTo timeout: Duration) throws(BusFailure) {
        let code = sd_bus_wait(bus, timeout.busMicroseconds)
        guard code >= 0 || code == -EINTR else { throw BusFailure(returned: code) }
    }

    /// `sd_bus_new` + address + start: what `sd_bus_open_system` does, for an address of our choosing.
    private static func connect(_ bus: inout OpaquePointer?, to address: String) -> Int32 {
        var code = sd_bus_new(&bus)
        guard code >= 0, let created = bus else { return code < 0 ? code : -ENOMEM }

        code = sd_bus_set_address(created, address)
        if code >= 0 {
            code = sd_bus_start(created)
        }
        if code < 0 {
            sd_bus_flush_close_unref(created)
            bus = nil
        }
        return code
    }
}

/// A D-Bus object and interface on a named peer: where a method call goes or a signal comes from.
struct BusObject {
    var destination: String
    var path: String
    var interface: String
}

/// A registration (here: a signal match) that ends when this object is released.
final class BusSlot {
    private let slot: OpaquePointer

    init(_ slot: OpaquePointer) {
        self.slot = slot
    }

    deinit {
        sd_bus_slot_unref(slot)
    }
}

/// A borrowed view of an sd-bus message, valid only while its owner keeps the message alive.
struct BusMessage {
    private let message: OpaquePointer

    init(_ message: OpaquePointer) {
        self.message = message
    }

    /// Appends one `s` argument. `append_basic` takes the string itself, not a pointer to it.
    func append(_ string: String) throws(BusFailure) {
        guard !string.utf8.contains(0) else {
            throw BusFailure(.invalidArgument("\(string.debugDescription) contains a NUL byte"))
        }
        let code = string.withCString { sd_bus_message_append_basic(message, BusType.string, $0) }
        guard code >= 0 else { throw BusFailure(returned: code) }
    }

    /// Reads the next field of type `s` (string) or `o` (object path).
    func readString(_ type: CChar) throws(BusFailure) -> String {
        var value: UnsafePointer<CChar>?
        let code = sd_bus_message_read_basic(message, type, &value)
        guard code > 0, let value else { throw readFailure(code, expected: type) }
        return String(cString: value)
    }

    func readUInt64() throws(BusFailure) -> UInt64 {
        var value: UInt64 = 0
        let code = sd_bus_message_read_basic(message, BusType.uint64, &value)
        guard code > 0 else { throw readFailure(code, expected: BusType.uint64) }
        return value
    }

    func readUInt32() throws(BusFailure) -> UInt32 {
        var value: UInt32 = 0
        let code = sd_bus_message_read_basic(message, BusType.uint32, &value)
        guard code > 0 else { throw readFailure(code, expected: BusType.uint32) }
        return value
    }

    /// Enters a variant that must hold `contents` (a D-Bus signature such as `s`).
    func enterVariant(holding contents: String) throws(BusFailure) {
        let code = sd_bus_message_enter_container(message, BusType.variant, contents)
        guard code > 0 else { throw readFailure(code, expected: BusType.variant) }
    }

    private func readFailure(_ code: Int32, expected type: CChar) -> BusFailure {
        let signature = sd_bus_message_get_signature(message, 1).map { String(cString: $0) } ?? "?"
        let reason = code == 0 ? "the message ended" : "\(UnitControlError.Cause.errno(-code))"
        let field = Character(Unicode.Scalar(UInt8(bitPattern: type)))
        return BusFailure(
            .unexpectedReply("expected a '\(field)' field in a message of signature '\(signature)': \(reason)"))
    }
}

/// D-Bus type codes as sd-bus's `char` parameters take them.
enum BusType {
    static let string = CChar(UInt8(ascii: "s"))
    static let objectPath = CChar(UInt8(ascii: "o"))
    static let uint32 = CChar(UInt8(ascii: "u"))
    static let uint64 = CChar(UInt8(ascii: "t"))
    static let variant = CChar(UInt8(ascii: "v"))
}

extension Duration {
    /// Microseconds for sd-bus timeouts: at least 1, since 0 means "the default" to `sd_bus_call`.
    fileprivate var busMicroseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 1 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { return UInt64.max - 1 }
        return max(1, whole &+ UInt64(attoseconds / 1_000_000_000_000))
    }
}
