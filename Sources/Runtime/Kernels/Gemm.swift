import ModelFormat

enum GemmKernels {
  static let registrations: [OpRegistration] = []
}
