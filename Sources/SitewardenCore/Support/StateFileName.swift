/// A target's name as one component of a file name in the state directory.
///
/// Target names may hold any printable text, so everything but `[A-Za-z0-9_-]` is written as
/// `%XX`: no name becomes `.`, `..` or a path.
func stateFileName(_ target: String) -> String {
    var name = ""
    for byte in target.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            name.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            name += "%" + Hex.encode([byte]).uppercased()
        }
    }
    return name
}
