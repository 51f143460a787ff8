import CYAML

/// A YAML document as libyaml loads it: scalars, mappings (keys in file order) and sequences,
/// each with the line it starts on, for error messages.
indirect enum YAMLNode {
    case null(line: Int)
    case scalar(String, line: Int)
    case mapping([(key: String, value: YAMLNode)], line: Int)
    case sequence([YAMLNode], line: Int)

    var line: Int {
        switch self {
        case .null(let line), .scalar(_, let line), .mapping(_, let line), .sequence(_, let line): line
        }
    }

    /// What kind of node this is, for "expected a mapping, found a sequence".
    var kind: String {
        switch self {
        case .null: "nothing"
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a sequence"
        }
    }

    /// Why libyaml could not read the text, and where.
    struct SyntaxError: Error {
        let line: Int
        let message: String
    }

    /// The first document of `text` (an empty text is one null node).
    static func load(_ text: String) throws(SyntaxError) -> YAMLNode {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw SyntaxError(line: 0, message: "libyaml cannot start") }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(SyntaxError) in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var document = yaml_document_t()
            guard yaml_parser_load(&parser, &document) == 1 else {
                let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
                throw SyntaxError(line: Int(parser.problem_mark.line) + 1, message: problem)
            }
            defer { yaml_document_delete(&document) }
            guard let root = yaml_document_get_root_node(&document) else { return .null(line: 1) }
            return convert(root, in: &document, depth: 0)
        }
    }

    private static func convert(_ node: UnsafeMutablePointer<yaml_node_t>, in document: inout yaml_document_t,
                                depth: Int) -> YAMLNode {
        let line = Int(node.pointee.start_mark.line) + 1
        // An alias may point back at its own mapping; a web config is a few levels deep.
        guard depth < 32 else { return .null(line: line) }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let scalar = node.pointee.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            if scalar.style == YAML_PLAIN_SCALAR_STYLE, ["", "~", "null", "Null", "NULL"].contains(value) {
                return .null(line: line)
            }
            return .scalar(value, line: line)
        case YAML_MAPPING_NODE:
            var pairs: [(key: String, value: YAMLNode)] = []
            var pair = node.pointee.data.mapping.pairs.start
            while let current = pair, current != node.pointee.data.mapping.pairs.top {
                let keyNode = yaml_document_get_node(&document, current.pointee.key)
                let valueNode = yaml_document_get_node(&document, current.pointee.value)
                var key = ""
                if let keyNode, case .scalar(let text, _) = convert(keyNode, in: &document, depth: depth + 1) { key = text }
                let value = valueNode.map { convert($0, in: &document, depth: depth + 1) } ?? .null(line: line)
                pairs.append((key, value))
                pair = current + 1
            }
            return .mapping(pairs, line: line)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var item = node.pointee.data.sequence.items.start
            while let current = item, current != node.pointee.data.sequence.items.top {
                if let child = yaml_document_get_node(&document, current.pointee) {
                    items.append(convert(child, in: &document, depth: depth + 1))
                }
                item = current + 1
            }
            return .sequence(items, line: line)
        default:
            return .null(line: line)
        }
    }
}
