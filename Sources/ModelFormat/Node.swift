/// One operator application (`NodeProto`). Absent optional inputs are empty strings, as in ONNX.
public struct Node: Sendable {
  public var name: String
  public var opType: String
  public var domain: String
  public var inputs: [String]
  public var outputs: [String]
  public var attributes: [Attribute]
  public var docString: String
  public var overload: String

  public init(name: String = "", opType: String, domain: String = "", inputs: [String], outputs: [String],
              attributes: [Attribute] = [], docString: String = "", overload: String = "") {
    self.name = name
    self.opType = opType
    self.domain = domain
    self.inputs = inputs
    self.outputs = outputs
    self.attributes = attributes
    self.docString = docString
    self.overload = overload
  }

  public func attribute(_ name: String) -> Attribute? { attributes.first { $0.name == name } }

  /// Input `i`, or nil when it is absent or omitted.
  public func input(_ i: Int) -> String? { i < inputs.count && !inputs[i].isEmpty ? inputs[i] : nil }

  /// "name (Op)" for error messages; falls back to the first output when the node is unnamed.
  public var label: String {
    let n = name.isEmpty ? (outputs.first.map { "→\($0)" } ?? "?") : name
    return "\(n) (\(opType))"
  }

  public mutating func setAttribute(_ a: Attribute) {
    if let i = attributes.firstIndex(where: { $0.name == a.name }) { attributes[i] = a } else { attributes.append(a) }
  }
}
