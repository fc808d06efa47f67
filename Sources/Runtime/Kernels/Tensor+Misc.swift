import ModelFormat

enum MiscTensorKernels {
  static let registrations: [OpRegistration] = []
}
