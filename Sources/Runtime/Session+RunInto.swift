#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelFormat

extension Session {
  /// Runs the model and writes each requested output into the caller's tensor (the C ABI's
  /// `sct_session_run_into`): no output buffer is allocated when every graph output is requested.
  ///
  /// - Parameters:
  ///   - feeds: every input name mapped to a tensor, as for `run(_:outputNames:)`.
  ///   - outputNames: the outputs to write, in the order of `destinations`.
  ///   - destinations: one tensor per name; its element type and shape must equal what the run produces
  ///     for these input shapes, and its buffer must hold that many bytes. Must not overlap the inputs.
  /// - Throws: `invalidArgument` naming the output and both shapes when a destination does not fit,
  ///   before anything is written when the shapes are known from the plan (after the run for
  ///   data-dependent shapes).
  public func run(_ feeds: [String: Tensor], outputNames: [String], into destinations: [Tensor]) throws {
    guard outputNames.count == destinations.count else {
      throw SecateurError.invalidArgument("\(outputNames.count) output names for \(destinations.count) destination tensors")
    }
    let inputs = try orderedInputs(feeds)
    let wanted = try outputIndices(outputNames)
    let plan = try plan(for: inputs.map { TensorSpec($0.dataType, $0.shape) })
    let produced: [Tensor]
    if plan.dynamic {
      produced = try runNodeByNode(inputs)
      for (j, k) in wanted.enumerated() {
        try Session.checkDestination(destinations[j], fits: TensorSpec(produced[k].dataType, produced[k].shape),
                                     output: outputNames[j])
      }
    } else {
      var direct: [Int: Buffer] = [:]
      for (j, k) in wanted.enumerated() {
        let vid = program.outputIds[k]
        guard let spec = plan.specs[vid] else {
          throw SecateurError.runtime("output '\(outputNames[j])' has no shape")
        }
        try Session.checkDestination(destinations[j], fits: spec, output: outputNames[j])
        if case .output = plan.locations[vid], direct[k] == nil { direct[k] = destinations[j].buffer }
      }
      produced = try runPlanned(plan, inputs, into: direct)
    }
    // Outputs that are constants, inputs, computed node by node, or requested twice are copied once.
    for (j, k) in wanted.enumerated() where produced[k].buffer !== destinations[j].buffer {
      let n = produced[k].byteCount
      if n > 0 { memmove(destinations[j].buffer.baseAddress, produced[k].buffer.baseAddress, n) }
    }
  }

  /// Throws unless `destination` has exactly `spec`'s element type and shape and room for its bytes.
  static func checkDestination(_ destination: Tensor, fits spec: TensorSpec, output name: String) throws {
    guard spec.dataType != .string else {
      throw SecateurError.unsupported("output '\(name)': string outputs cannot be written into caller buffers")
    }
    let need = spec.byteCount ?? Int.max
    guard destination.dataType == spec.dataType, destination.shape == spec.shape, destination.buffer.count >= need else {
      throw SecateurError.invalidArgument(
        "output '\(name)': the caller's tensor is \(destination.dataType)\(destination.shape) with \(destination.buffer.count) bytes, "
          + "the run produces \(spec) (\(need) bytes)")
    }
  }
}
