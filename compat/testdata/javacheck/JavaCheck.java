// JavaCheck runs Apache Avro Java's SchemaCompatibility over pairs of schemas,
// for the differential test in compat/differential_test.go (see run.sh).
//
// Input: one JSON object per line, {"reader": <schema>, "writer": <schema>}.
// Output: one line per input line:
//   compatible
//   incompatible<TAB>TYPE location message<TAB>TYPE location message...
//   error<TAB>message          (the checker threw)
//   parse-error<TAB>message    (Avro Java refused a schema)
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

public class JavaCheck {
  public static void main(String[] args) throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintWriter out = new PrintWriter(System.out, false, StandardCharsets.UTF_8);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      JsonNode pair = mapper.readTree(line);
      Schema reader, writer;
      try {
        reader = new Schema.Parser().parse(pair.get("reader").toString());
        writer = new Schema.Parser().parse(pair.get("writer").toString());
      } catch (Exception e) {
        out.println("parse-error\t" + oneLine(e.toString()));
        continue;
      }
      try {
        SchemaCompatibility.SchemaPairCompatibility r = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        if (r.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
          out.println("compatible");
        } else {
          StringBuilder b = new StringBuilder("incompatible");
          for (SchemaCompatibility.Incompatibility i : r.getResult().getIncompatibilities()) {
            b.append('\t').append(i.getType()).append(' ').append(i.getLocation()).append(' ').append(oneLine(i.getMessage()));
          }
          out.println(b);
        }
      } catch (Exception e) {
        out.println("error\t" + oneLine(e.toString()));
      }
    }
    out.flush();
  }

  private static String oneLine(String s) {
    return s.replace('\t', ' ').replace('\n', ' ');
  }
}
