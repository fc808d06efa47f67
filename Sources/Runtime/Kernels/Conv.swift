import ModelFormat

enum ConvKernels {
  static let registrations: [OpRegistration] = []
}
