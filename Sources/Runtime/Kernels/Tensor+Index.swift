import ModelFormat

enum IndexKernels {
  static let registrations: [OpRegistration] = []
}
