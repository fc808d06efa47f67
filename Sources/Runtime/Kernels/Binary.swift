import ModelFormat

enum BinaryKernels {
  static let registrations: [OpRegistration] = []
}
