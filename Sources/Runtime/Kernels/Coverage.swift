import ModelFormat

/// Op families beyond the CNN core (issue 9): losses, quantization, attention, recurrent nets,
/// control flow, signal processing and the rest. Each family lives in its own file; this list is
/// the one place they join the registry.
enum CoverageKernels {
  static let registrations: [OpRegistration] = LossKernels.registrations + AttentionKernels.registrations
    + QuantizeKernels.registrations + RecurrentKernels.registrations
    + ControlFlowKernels.registrations + MiscCoverageKernels.registrations
    + NonMaxSuppressionKernels.registrations + RecurrentStateKernels.registrations
    + EinsumKernels.registrations + CenterCropPadKernels.registrations + GridSampleKernels.registrations
    + SignalKernels.registrations + GeometryKernels.registrations + TrainingKernels.registrations
    + ConvIntegerKernels.registrations
}
