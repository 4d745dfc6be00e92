"""Does a reply answer what the customer asked? (the `missing_answer` check's engine)

Split into small parts: `lexicon` (phrases and word lists, data only),
`text` (sentences, words, stems, language), `questions` (what the customer
asked), `substance` (what the agent said beyond greeting, pleasantries, canned
text and closing), `matching` (is one question addressed), `judge` (the
verdict the check turns into a finding).
"""
