internal import CNumerics

/// A failed GNU Scientific Library call, with GSL's own status code and reason.
struct GSLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The GSL status code (`GSL_EDOM`, `GSL_ERANGE`, …).
    let status: Int32
    /// The call that failed, with its arguments.
    let call: String

    var description: String {
        "\(call): \(String(cString: gsl_strerror(status))) (GSL status \(status))"
    }
}

/// Special functions and distributions from GSL, with status codes turned into Swift errors.
///
/// GSL's default error handler aborts the process; it is switched off once, before the first
/// call through this type, so every failure comes back as a ``GSLError``.
enum GSL {
    private static let handlerSwitchedOff: Bool = {
        gsl_set_error_handler_off()
        return true
    }()

    private static func check(_ status: Int32, _ call: @autoclosure () -> String) throws(GSLError) {
        if status != Int32(GSL_SUCCESS) { throw GSLError(status: status, call: call()) }
    }

    private static func finite(_ value: Double, _ call: @autoclosure () -> String) throws(GSLError) -> Double {
        guard value.isFinite else { throw GSLError(status: Int32(GSL_EDOM), call: call()) }
        return value
    }

    /// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt.
    static func erf(_ x: Double) throws(GSLError) -> Double {
        _ = handlerSwitchedOff
        var result = gsl_sf_result()
        try check(gsl_sf_erf_e(x, &result), "gsl_sf_erf_e(\(x))")
        return result.val
    }

    /// ln Γ(x) for x > 0 or non-integer x < 0; fails with a domain error at the poles.
    static func logGamma(_ x: Double) throws(GSLError) -> Double {
        _ = handlerSwitchedOff
        var result = gsl_sf_result()
        try check(gsl_sf_lngamma_e(x, &result), "gsl_sf_lngamma_e(\(x))")
        return result.val
    }

    /// The quantile of the χ² distribution with `degreesOfFreedom` at lower-tail probability `p`.
    ///
    /// Used by the noise tests to bound a measured variance: with n samples of σ², the sample
    /// variance s² satisfies (n−1)s²/σ² ~ χ²(n−1).
    static func chiSquaredQuantile(_ p: Double, degreesOfFreedom: Double) throws(GSLError) -> Double {
        _ = handlerSwitchedOff
        guard p > 0, p < 1, degreesOfFreedom > 0 else {
            throw GSLError(status: Int32(GSL_EDOM), call: "gsl_cdf_chisq_Pinv(\(p), \(degreesOfFreedom))")
        }
        return try finite(gsl_cdf_chisq_Pinv(p, degreesOfFreedom),
                          "gsl_cdf_chisq_Pinv(\(p), \(degreesOfFreedom))")
    }

    /// The quantile of the standard normal distribution at lower-tail probability `p` ∈ (0, 1).
    static func normalQuantile(_ p: Double) throws(GSLError) -> Double {
        _ = handlerSwitchedOff
        guard p > 0, p < 1 else { throw GSLError(status: Int32(GSL_EDOM), call: "gsl_cdf_ugaussian_Pinv(\(p))") }
        return try finite(gsl_cdf_ugaussian_Pinv(p), "gsl_cdf_ugaussian_Pinv(\(p))")
    }
}
