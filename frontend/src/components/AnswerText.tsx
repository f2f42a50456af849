import Markdown from "react-markdown";

// The model's answer is Markdown from a program we do not control: only a safe subset renders
// (paragraphs, emphasis, code, lists, line breaks). Raw HTML is dropped and links, images,
// headings and tables are shown as their text, so an answer can neither load anything nor
// look like part of the app.
const ALLOWED = ["p", "strong", "em", "code", "pre", "ul", "ol", "li", "br", "del", "blockquote"];

/** A line that is only a number and a full stop ("74.") is an answer, not an empty list item. */
export function plainNumbers(text: string): string {
  return text.replace(/^(\s*\d+)\.(\s*)$/gm, "$1\\.$2");
}

export default function AnswerText({ text }: { text: string }) {
  return (
    <div className="answer text-sm" data-testid="answer">
      <Markdown allowedElements={ALLOWED} unwrapDisallowed skipHtml>
        {plainNumbers(text)}
      </Markdown>
    </div>
  );
}
