import ModelFormat

enum NormalizationKernels {
  static let registrations: [OpRegistration] = []
}
