import ModelFormat

enum TensorKernels {
  static let registrations: [OpRegistration] = []
}
