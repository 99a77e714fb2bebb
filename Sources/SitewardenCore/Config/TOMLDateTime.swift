/// A TOML local date, local time, local date-time or offset date-time: the parts present tell which.
struct TOMLDateTime: Sendable, Equatable {
    /// A calendar day.
    struct Day: Sendable, Equatable {
        var year: Int
        var month: Int
        var day: Int
    }

    /// A time of day.
    struct TimeOfDay: Sendable, Equatable {
        var hour: Int
        var minute: Int
        var second: Int
        var nanosecond: Int
    }

    var day: Day?
    var time: TimeOfDay?
    /// Minutes east of UTC, only for offset date-times.
    var offsetMinutes: Int?

    var kindName: String {
        switch (day, time) {
        case (.some, .some): "date-time"
        case (.some, .none): "date"
        default: "time"
        }
    }
}
