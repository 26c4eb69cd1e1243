# embed_text.awk - a text file as a C array of string literals, one per line, NULL-ended:
#   awk -v name=NAME -f tools/embed_text.awk FILE  ->  static const char *const NAME[] = {...};
# One literal per line keeps each under C's 4095-character minimum; '?' is escaped so
# no '??' sequence becomes a trigraph in -std=c11.
BEGIN { printf "static const char *const %s[] = {\n", name }
{
    gsub(/\\/, "&&")
    gsub(/"/, "\\\"")
    gsub(/\?/, "\\?")
    gsub(/\t/, "\\t")
    printf "    \"%s\\n\",\n", $0
}
END { print "    NULL\n};" }
