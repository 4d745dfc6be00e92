"""Word lists and phrase patterns for the answer check, in seven languages.

Data only, so a reader (or an admin comparing with their own templates) sees
every built-in phrase in one place. Everything here is written folded: lower
case without accents ("reçu" -> "recu"), because text is folded the same way
before matching. Patterns are regular expressions searched inside one
sentence.
"""

from __future__ import annotations


def _word_set(text: str) -> frozenset[str]:
    """A whitespace-separated word list as a set (long lists read better as prose)."""
    return frozenset(text.split())


# Words that carry no topic: function words, question words, and the verbs and
# fillers every support mail uses. A question's *content* is what remains.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": _word_set(
        """a about above after again against all also am an and any anymore are aren't as at
        be because been before being below between both but by can can't cannot could couldn't
        did didn't do does doesn't doing don't down during each either else ever every few for
        from further get gets getting got had hadn't has hasn't have haven't having he her here
        hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its
        itself just let let's like may me might mine more most much must my myself need needs
        no nor not now of off on once one only or other our ours ourselves out over own please
        possible quite rather really same shall she should shouldn't so some still such than
        that that's the their theirs them themselves then there there's these they they're this
        those though through to too under until up us very via was wasn't we we're we've were
        weren't what what's when where which while who whom whose why will with within without
        won't would wouldn't yes yet you you'd you'll you're you've your yours yourself
        yourselves hi hello hey dear thanks thank regards best kind kindly know tell let
        want wanted wondering wonder able also already anything something someone anyone
        way ok okay sure just maybe else make made go going still again"""
    ),
    "de": _word_set(
        """aber alle allem allen aller alles als also am an ander andere anderen auch auf aus
        bei beim bin bis bitte bist da dabei damit dann darf das dass davon dazu dem den denn
        der des dich die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine
        einem einen einer eines er es etwas euch euer für gegen gibt hab habe haben hallo hat
        hatte hätte hier ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in ins ist ja jetzt
        kann kannst können könnte könnten man mein meine meinem meinen meiner mich mir mit
        möchte möchten muss müssen nach nicht noch nun nur ob oder ohne schon sehr sein seine
        sich sie sind so soll sollte sollen über um und uns unser unsere unter vom von vor
        war waren warum was weil welche welchen welcher wenn wer werde werden wie wieder wieso
        will wir wird wo wurde würde würden zu zum zur danke dank grüße gruß liebe lieber
        geehrte geehrter freundlichen mal einfach gerne bzw bereits leider kein keine"""
    ),
    "fr": _word_set(
        """a ai aie aient as au aucun aussi aux avec avez avoir avons bonjour c ce ceci cela
        celle celui ces cet cette chez comme comment d dans de des dois doit donc du elle elles
        en encore est et été être eu fait faire il ils j je l la le les leur leurs lui m ma
        mais me merci mes moi mon n ne nos notre nous on ont ou où par pas peut peux plus pour
        pourquoi pourrais pourriez pouvez puis puisque qu quand que quel quelle quelles quels
        qui quoi s sa sans se ses si sont suis sur t ta te tes toi ton tous tout toute toutes
        très tu un une vos votre vous y svp bien cordialement madame monsieur déjà aussi
        savoir voudrais veux souhaite souhaiterais possible"""
    ),
    "es": _word_set(
        """a al algo algún alguna alguno como cómo con cual cuál cuales cuando cuándo de del
        donde dónde el él ella ellas ellos en era es esa ese eso esta está están estas este
        esto estos favor fue ha han has hay he hola la las le les lo los me mi mis muy más
        nada ni no nos nosotros o os otra otro para pero poco por porque qué que quien quién
        se sea ser si sí sin sobre son su sus también te tengo tiene tienen todo todos tu tú
        un una uno unos usted ustedes vosotros y ya yo gracias saludos puedo puede pueden
        podría podrían quisiera quiero saber necesito"""
    ),
    "nl": _word_set(
        """aan al alle als alles andere bij ben bent dan dat de deze die dit doe doen door dus
        een eens en er ga gaat geen graag had heb hebben heeft hem het hier hij hoe hoi hun
        ik in is ja je jij jou jouw jullie kan kun kunnen kunt maar me meer men met mij mijn
        moet moeten mogelijk na naar niet niets nog nu of om omdat ons onze ook op over te
        toch tot u uit uw van veel voor waar waarom wanneer want was wat we wel welke werd
        wie wij wil willen worden wordt zal ze zei zelf zich zij zijn zo zou zouden beste
        bedankt dank groet groeten vriendelijke alvast even"""
    ),
    "it": _word_set(
        """a ad al alla alle allo agli ai anche ancora avere avete ho ha hanno c che chi ci
        come con cosa cui da dal dalla dei del della delle dello di dove e è ed era gli ha
        i il in io la le lei li lo loro lui ma mi mia mie miei mio ne nei nel nella no noi
        non o per perché più può posso possiamo potete potrei potreste qual quale quando
        quanto quella quello questa questo se si sia siamo siete sono su sua sue suo suoi
        ti tra tu tua tuo un una uno vi voi vorrei grazie ciao buongiorno gentile saluti
        cordiali sapere mai così molto poi già ancora sempre"""
    ),
    "pt": _word_set(
        """a ao aos as até com como da das de dela dele do dos e é ela ele eles em entre era
        essa esse esta está estão este eu foi há isso isto já la lhe mais mas me meu minha
        muito na nas no nos não nós o os ou para pela pelo por porque posso pode podem
        poderia poderiam qual quais quando que quem se sem ser seu seus sua suas também te
        tem tenho ter um uma você vocês vos olá obrigado obrigada bom dia gostaria saber
        favor atenciosamente preciso"""
    ),
}

STEMMER_NAMES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "nl": "dutch",
    "it": "italian",
    "pt": "portuguese",
}

# Sentences that are polite but say nothing about the customer's matter.
PLEASANTRIES: tuple[str, ...] = (
    # en
    r"^(?:many |a lot of )?thanks?(?: you)?(?: (?:so|very) much)?(?: again)? (?:for|to you for)"
    r" (?:contacting|reaching out|getting in touch|writing|your (?:message|e-?mail|mail|inquiry|"
    r"enquiry|request|question|patience|note|reply|time|understanding|order|ticket))",
    r"^(?:many |a lot of )?thanks?(?: you)?(?: (?:so|very) much)?[.!]*$",
    r"^(?:i )?hope (?:this|that) (?:helps|clarifies|answers)",
    r"^(?:please )?(?:let (?:me|us) know|feel free to|do not hesitate|don't hesitate)"
    r" if (?:you have|there (?:is|are)|anything|we can|i can)",
    r"^(?:please )?(?:feel free to|do not hesitate to|don't hesitate to)"
    r" (?:contact|reach out|get in touch|reply|write)",
    r"^if you have any (?:other |further |more )?questions",
    r"^have a (?:nice|great|good|lovely|wonderful) (?:day|weekend|evening|week)",
    r"^(?:we|i) (?:sincerely )?(?:apologi[sz]e|are sorry|am sorry)"
    r" for (?:the|any) (?:inconvenience|trouble|delay|confusion)[.!]*$",
    r"^(?:so )?sorry (?:for|about) (?:the|any) (?:inconvenience|trouble|delay|confusion)[.!]*$",
    r"^(?:we|i)(?: are|'re| am|'m) (?:very |so |really |truly )?sorry (?:for|about) (?:the|any)"
    r" (?:inconvenience|trouble|delay|confusion|frustration)(?: (?:this|that|it) (?:has |may "
    r"have )?caused(?: you)?)?[.!]*$",
    r"^(?:i am|i'm|we are|we're) (?:always )?(?:happy|glad) to help",
    r"^(?:i|we) (?:hope|trust) (?:you are|you're|this finds you) (?:well|doing well)",
    r"^thanks? (?:you )?for (?:choosing|using|being|your business|your loyalty|your trust)",
    r"^if you (?:need|have) (?:any )?(?:further|more|additional|other) (?:help|questions|"
    r"assistance)",
    # de
    r"^(?:vielen |herzlichen )?dank (?:fur|fuer) ihre (?:nachricht|anfrage|e-?mail|geduld|mail)",
    r"^(?:vielen |herzlichen )?dank[.!]*$",
    r"^ich hoffe,? (?:das|dies) hilft",
    r"^(?:bei|fur|fuer) (?:weitere|weiteren) fragen",
    r"^(?:melden sie sich|zogern sie nicht)",
    r"^(?:wir bitten|entschuldigen sie) (?:die|um) (?:unannehmlichkeiten|verzogerung)",
    r"^einen (?:schonen|guten) (?:tag|abend)",
    # fr
    r"^merci (?:beaucoup )?(?:pour|de) votre (?:message|demande|e-?mail|courriel|patience|retour)",
    r"^merci(?: beaucoup)?[.!]*$",
    r"^(?:n'hesitez pas|je reste a votre disposition|nous restons a votre disposition)",
    r"^(?:en esperant|j'espere) (?:que )?(?:cela|ceci|ca) (?:vous )?(?:aide|aidera|repond)",
    r"^(?:nous|je) (?:nous|m')?excus(?:ons|e) pour (?:la gene|le desagrement|ce desagrement)",
    r"^(?:bonne|tres bonne) (?:journee|soiree)",
    # es
    r"^(?:muchas )?gracias por (?:su|tu) (?:mensaje|consulta|correo|paciencia|solicitud|contacto)",
    r"^(?:muchas )?gracias[.!]*$",
    r"^(?:espero|esperamos) que (?:esto|esta informacion) (?:le|te) (?:ayude|sea util)",
    r"^(?:no dude|no dudes) en",
    r"^(?:quedamos|quedo) a (?:su|tu) (?:disposicion|entera disposicion)",
    r"^(?:disculpe|disculpa|lamentamos|sentimos) (?:las|el|los) (?:molestias|inconvenientes)",
    r"^que tenga(?:s)? (?:un )?buen dia",
    # nl
    r"^(?:hartelijk )?(?:bedankt|dank) voor (?:uw|je) (?:bericht|vraag|e-?mail|geduld|mail)",
    r"^(?:hartelijk )?(?:bedankt|dank u wel|dank je wel)[.!]*$",
    r"^(?:ik hoop|hopelijk) (?:dat )?(?:dit|het) (?:u |je )?(?:helpt|verder)",
    r"^(?:heeft u|heb je|mocht u|mocht je) (?:nog )?(?:andere |verdere )?vragen",
    r"^(?:excuses|sorry) voor (?:het ongemak|de overlast|de vertraging)",
    r"^(?:nog )?een (?:fijne|prettige) dag",
    # it
    r"^grazie (?:mille )?(?:per|della) (?:la sua|il suo|la tua|il tuo|averci) ?"
    r"(?:messaggio|richiesta|email|e-mail|pazienza|contattato|segnalazione)?",
    r"^grazie(?: mille)?[.!]*$",
    r"^(?:spero|speriamo) che (?:questo|queste informazioni) (?:la|ti|le) (?:aiuti|sia)",
    r"^(?:resto|restiamo|rimango|rimaniamo) a (?:sua|tua|vostra) (?:completa )?disposizione",
    r"^(?:non esiti|non esitare)",
    r"^(?:ci scusiamo|mi scuso) per (?:il disagio|l'inconveniente|il ritardo)",
    r"^buona giornata",
    # pt
    r"^(?:muito )?obrigad[oa] (?:pelo|pela|por) (?:seu |sua |o seu |a sua )?"
    r"(?:contato|contacto|mensagem|paciencia|e-?mail)",
    r"^(?:muito )?obrigad[oa][.!]*$",
    r"^(?:espero|esperamos) que (?:isto|isso|esta informacao) (?:ajude|o ajude|te ajude)",
    r"^(?:estamos|fico|ficamos) a (?:sua )?(?:inteira )?disposicao",
    r"^(?:nao hesite|qualquer duvida)",
    r"^(?:pedimos desculpa|lamentamos) (?:pelo|pelos) (?:transtorno|incomodo|inconveniente)",
    r"^(?:tenha|tenham) um (?:bom|otimo) dia",
    r"^obrigad[oa] por (?:contactar|entrar em cont[a]?[c]?to|escolher|confiar)",
    r"^se (?:precisar|tiver|necessitar) (?:de )?(?:mais|outra|alguma|qualquer) (?:ajuda|duvida|"
    r"questao|informacao)",
    # any language: "if you need more help / have other questions" closers
    r"^(?:wenn|falls|sollten) sie (?:noch )?(?:weitere|andere) fragen",
    r"^(?:si vous avez|pour toute) (?:d'autres |des |autre )?(?:questions?|demande)",
    r"^si (?:tiene|necesita|tienes|necesitas) (?:alguna|cualquier|mas)? ?(?:otra )?(?:duda|"
    r"pregunta|ayuda|consulta)",
    r"^(?:als|mocht) (?:u|je) (?:nog )?(?:andere |verdere )?vragen",
    r"^(?:per qualsiasi|per ogni) (?:altra |ulteriore )?(?:domanda|informazione|necessita|dubbio)",
    r"^(?:se|qualora) (?:ha|hai|avesse|avessi) bisogno",
)

# Acknowledgements, hand-offs and auto-replies: say that something will happen,
# answer nothing. A reply made only of these (and pleasantries) is canned.
CANNED: tuple[str, ...] = (
    # en
    r"\b(?:we|i)(?: have|'ve)? (?:successfully )?received your (?:request|message|e-?mail|"
    r"inquiry|enquiry|ticket|query|question|feedback|complaint)",
    r"\b(?:we|i|someone|somebody|an agent|a member of (?:our|the) (?:team|staff)|our team|"
    r"one of our \w+|the team) (?:will|shall|'ll) (?:get back to you|be in touch|contact you|"
    r"respond|reply|follow up|be with you|look into (?:it|this|your))",
    r"\bwill (?:get back to you|respond to you|reply to you|be in touch) (?:as soon as|within|"
    r"shortly|soon|asap)",
    r"\bthis is an? (?:automated|automatic|auto-generated) (?:response|reply|message|e-?mail|"
    r"notification|acknowledg)",
    r"\byour (?:ticket|request|case|inquiry|enquiry)\b.{0,24}?(?:has been|was|is now|is)"
    r" (?:closed|resolved|marked as (?:solved|resolved|closed)|created|logged|received|"
    r"escalated|forwarded)",
    r"\b(?:i|we)(?: have|'ve)? (?:forwarded|passed|escalated|transferred|handed|assigned)"
    r" (?:your|this|the|it)\b(?:.{0,40})? (?:to|on to|over to)\b",
    r"^thanks? (?:you )?for your (?:feedback|suggestion|comments?)[.!]*$",
    r"\bwe (?:are|'re) (?:currently )?(?:looking into|investigating|reviewing|checking)"
    r" (?:it|this|your|the matter)",
    r"\b(?:your|the) (?:ticket|reference|case) (?:number|id|no\.?|reference) is\b",
    r"\byour reference is\b",
    r"\bwe (?:aim|try|strive) to (?:respond|reply|answer) (?:to all|within)",
    r"\bdue to (?:a |the )?high (?:volume|number) of",
    r"\b(?:i am|i'm) (?:currently )?out of (?:the )?office",
    r"\bin the meantime,? (?:you (?:may|might|can|could)|please|feel free|have a look|check)",
    r"\byou (?:may|might|can|could) (?:also )?find (?:answers|help|information|solutions)",
    r"\bplease (?:quote|mention|include|keep) (?:this|the|your) (?:reference|ticket|case)",
    # de
    r"\b(?:wir haben|ich habe) ihre (?:anfrage|nachricht|e-?mail|mail|reklamation|bestellung)"
    r" (?:erhalten|bekommen)",
    r"\b(?:wir|ich) (?:werden uns|melden uns|melde mich|werde mich)\b.{0,60}"
    r"\b(?:melden|zuruck|in verbindung setzen)",
    r"\bdies ist eine automatische (?:antwort|nachricht|e-?mail|benachrichtigung)",
    r"\b(?:ihr|dein) (?:ticket|anliegen|fall|anfrage)\b.{0,30}?\b(?:wurde|ist)\b.{0,20}?"
    r"(?:geschlossen|gelost|weitergeleitet|angelegt)",
    r"\b(?:weitergeleitet|an die zustandige abteilung)",
    r"^(?:vielen )?dank fur ihr feedback[.!]*$",
    r"\bwir (?:prufen|kummern uns um) ihr anliegen",
    r"\bihre ticketnummer lautet",
    # fr
    r"\b(?:nous avons|j'ai) (?:bien )?recu votre (?:demande|message|e-?mail|courriel|requete|"
    r"reclamation)",
    r"\b(?:reviendr(?:a|ons|ai|ont) vers vous|nous revenons vers vous|nous vous "
    r"recontacterons|nous vous repondrons)",
    r"\ba ete transmise? (?:au|a la|aux|a notre)",
    r"\b(?:ceci|ce message) est une reponse automatique",
    r"\bvotre (?:ticket|demande|dossier)\b.{0,30}?\b(?:a ete|est)\b.{0,20}?(?:clos|cloture|"
    r"ferme|resolu|transmis|enregistre)",
    r"\b(?:j'ai|nous avons) transmis votre (?:demande|message|requete|dossier)",
    r"^merci pour votre (?:retour|avis|feedback)[.!]*$",
    r"\bnous (?:etudions|examinons|traitons) votre (?:demande|dossier)",
    # es
    r"\bhemos recibido (?:su|tu) (?:solicitud|mensaje|consulta|correo|peticion|reclamacion)",
    r"\b(?:nos pondremos en contacto|(?:le|te) (?:responderemos|contestaremos|contactaremos|"
    r"respondera|contestara|contactara))",
    r"\besta es una respuesta automatica",
    r"\b(?:su|tu) (?:ticket|caso|solicitud|incidencia)\b.{0,30}?\b(?:ha sido|fue|esta)\b.{0,20}?"
    r"(?:cerrad[oa]|resuelt[oa]|registrad[oa]|derivad[oa]|escalad[oa])",
    r"\bhe (?:reenviado|trasladado|derivado|escalado) (?:su|tu) "
    r"(?:consulta|mensaje|solicitud|caso)",
    r"^gracias por (?:sus|tus) comentarios[.!]*$",
    r"\bestamos (?:revisando|analizando|estudiando) (?:su|tu) (?:caso|solicitud|consulta)",
    # nl
    r"\b(?:wij hebben|we hebben|ik heb) (?:uw|je|jouw) (?:vraag|bericht|e-?mail|verzoek|klacht|"
    r"melding) (?:goed )?ontvangen",
    r"\b(?:wij nemen|we nemen|ik neem)\b.{0,40}\bcontact met (?:u|je) op",
    r"\bdit is een automatisch (?:antwoord|bericht|gegenereerd)",
    r"\b(?:uw|je) (?:ticket|verzoek|melding|zaak)\b.{0,30}?\b(?:is|werd)\b.{0,20}?(?:gesloten|"
    r"afgesloten|opgelost|doorgestuurd|geregistreerd)",
    r"\b(?:ik heb|wij hebben|we hebben) (?:uw|je) (?:vraag|bericht|verzoek) doorgestuurd",
    r"^bedankt voor (?:uw|je) feedback[.!]*$",
    r"\b(?:wij|we) (?:komen|zullen) (?:zo snel mogelijk |spoedig )?(?:bij u |bij je )?"
    r"(?:terug|reageren)",
    # it
    r"\babbiamo ricevuto (?:la sua|la tua|il suo|il tuo) (?:richiesta|messaggio|e-?mail|"
    r"segnalazione|reclamo)",
    r"\b(?:la|ti|vi) (?:contatteremo|ricontatteremo|risponderemo)",
    r"\b(?:vi|le|ti) (?:risponderemo|faremo sapere)",
    r"\bquesta e una risposta automatica",
    r"\b(?:il suo|il tuo|la sua|la tua) (?:ticket|caso|richiesta|segnalazione)\b.{0,30}?"
    r"\be stat[oa]\b.{0,20}?(?:chius|risolt|inoltrat|registrat)",
    r"\bho inoltrato (?:la sua|la tua) (?:richiesta|segnalazione|email)",
    r"^grazie per (?:il suo|il tuo) feedback[.!]*$",
    # pt
    r"\brecebemos (?:a sua|sua|o seu|seu|a tua|o teu) (?:solicitacao|mensagem|pedido|e-?mail|"
    r"reclamacao|contato|contacto)",
    r"\b(?:entraremos em contato|entraremos em contacto|retornaremos|responderemos)",
    r"\besta e uma resposta automatica",
    r"\b(?:seu|o seu|o teu|sua|a sua) (?:chamado|ticket|pedido|caso|solicitacao)\b.{0,30}?"
    r"\bfoi\b.{0,20}?(?:encerrad|fechad|resolvid|encaminhad|registrad)",
    r"\bencaminhei (?:sua|a sua|o seu|seu) (?:mensagem|solicitacao|pedido)",
    r"^obrigad[oa] pel[oa] (?:seu|sua) (?:feedback|comentario)[.!]*$",
)

# A reply that says it was sent by a machine is an auto-reply however much else it says
# (ticket receipts with opening hours and help links). Matched on folded text; each
# names the message itself as automatic, so "refunds are processed automatically" is not.
AUTOMATED: tuple[str, ...] = (
    # en
    r"\bthis (?:is an?|message is an?|e-?mail is an?) (?:automated|automatic|"
    r"automatically generated|auto-generated|computer-generated|system-generated) "
    r"(?:response|reply|message|e-?mail|notification|acknowledg|confirmation)",
    r"\bthis (?:message|e-?mail|notification|response|reply) (?:was|has been|is) "
    r"(?:sent |generated |created )?automatically",
    # de
    r"\bdies ist eine automatisch(?:e|\s+(?:erstellte|generierte|versendete)) (?:antwort|"
    r"nachricht|e-?mail|mail|benachrichtigung|eingangsbestatigung|bestatigung)",
    r"\bdiese (?:nachricht|e-?mail|mail|antwort) wurde automatisch (?:erstellt|generiert|"
    r"versendet|verschickt|versandt)",
    r"\bautomatische eingangsbestatigung",
    # fr
    r"\b(?:ceci|ce message|ce courriel|cet e-?mail) est (?:une reponse|un message|un courriel|"
    r"un accuse de reception) automatique",
    r"\b(?:ce message|ce courriel|cet e-?mail) (?:a ete|est) (?:genere|envoye|cree) "
    r"automatiquement",
    # es
    r"\besta es una respuesta automatica",
    r"\beste es un (?:mensaje|correo) (?:automatico|generado automaticamente)",
    r"\beste (?:mensaje|correo) (?:ha sido|fue|se ha) (?:generado|enviado) automaticamente",
    # nl
    r"\bdit is een automatisch(?: gegenereerd| verzonden| verstuurd)? (?:antwoord|bericht|"
    r"e-?mail|mail|ontvangstbevestiging)",
    r"\bdit (?:bericht|e-?mail|mail) is automatisch (?:gegenereerd|verzonden|verstuurd)",
    # it
    r"\bquesta e una risposta automatica",
    r"\bquesto e un messaggio (?:automatico|generato automaticamente)",
    r"\bquesto (?:messaggio|e-?mail) (?:e stato|e stata) (?:generat|inviat)[oa] automaticamente",
    # pt
    r"\besta e uma (?:resposta|mensagem) automatica",
    r"\besta (?:mensagem|resposta) (?:foi|e) (?:gerada|enviada) automaticamente",
)

# Social vocabulary: word beginnings (folded) of thanks, appreciation, pleasure, wishes,
# times of the week, apology, availability and contact offers, the customer relation, and
# the intensifiers they come with. A sentence made only of these (and function words, no
# digit) says nothing the customer can use ("We really appreciate your support.",
# "Je reste bien entendu à votre entière disposition.", "Desejamos-lhe um excelente fim
# de semana."), however it is phrased; the fixed PLEASANTRIES cannot list every variant.
# Used only to decide whether a reply has any substance, never for question matching.
# Possessives the stopword lists lack ("nossos clientes") are listed with the words.
SOCIAL_WORDS: dict[str, tuple[str, ...]] = {
    language: tuple(prefixes.split())
    for language, prefixes in {
        "en": """thank appreciat grateful gratitude pleasure pleased delight glad happy lovely
            wonderful great nice good fantastic excellent brilliant warm kind wish hope enjoy
            day weekend week evening morning afternoon holiday season always really truly
            sincere very much indeed again sorry apolog inconvenien trouble caused regret hear
            contact touch reach writ message email e-mail mail note support loyal custom valued
            business trust patience understanding hesitat further question help assist
            available disposal service team behalf best regards care well soon forward look
            being such getting feel free anything else need valu tremendous immens enormous
            deeply extremely hugely most serv""",
        "de": """dank bedank freu gern schon wunsch tag wochenende woche abend entschuldig
            unannehmlichkeit entstanden bedauer leid verstandnis geduld nachricht anfrage mail
            kontakt meld zoger frage verfugung jederzeit immer sehr herzlich viel beste
            freundlich gruss unser kunde kundin treue vertrauen service team bitte hilf weiter
            wirklich selbstverstandlich naturlich angenehm schoen toll wunderbar enorm riesig
            ausserordentlich besonders ganz betreu""",
        "fr": """merci remerci plaisir ravi heureu content agreable belle beau bonne bon
            excellent journee soiree semaine week-end weekend toujours vraiment tres bien
            sincere desole excus gene desagrement regret comprehension patience message
            demande courriel mail contact recontact hesit question disposition entier
            complement information reste restons fidelite confiance client service equipe
            aide aider souhait esper entendu volontiers cordial infiniment enormement
            particulier beaucoup chaleureu passez servir salutation""",
        "es": """gracias agradec placer encant gusto feliz excelente buen bonit dia fin semana
            tarde noche siempre realmente muy mucho sincer disculp lament sentimos siento
            molestia inconvenient comprension paciencia mensaje consulta correo contact escrib
            duda pregunta disposicion quedamos quedo cliente confianza fidelidad servicio
            equipo ayud dese esper cordial atent nuestr vuestr atender servir enorme infinit
            sumamente tenga tengas tengan saludo""",
        "it": """grazie ringrazi piacere liet felic ottim bell buon splendid giornata serata
            settimana fine weekend sempre davvero molto sincer scus disagio inconvenient
            comprension pazienza messaggio richiesta email mail contatt scriv esit dubbi domand
            disposizione resto restiamo rimango rimaniamo complet client fiducia fedelta
            servizio team aiut augur cordial salut distint nostr vostr enorme infinit tanto
            passi trascorr servir""",
        "pt": """obrigad agradec prazer feliz satisf otim excelente bom boa belo bela dia fim
            semana tarde noite sempre realmente muito sincer desculp lament transtorno incomodo
            inconvenient compreensao paciencia mensag contact contat escrev receb hesit duvid
            questo disposicao inteira fico ficamos client confianca preferencia servico equipa
            equipe ajud desej esper cumpriment atenciosamente abraco noss vosso vossa imens
            enorme bastante tenha tenham atender servir""",
        "nl": """dank bedankt waard fijn leuk prettig graag blij plezier mooi goed geweldig
            dag weekend week avond altijd echt heel erg zeer hartelijk excuses sorry spijt
            ongemak overlast begrip geduld bericht vraag vragen mail contact schrijv aarzel
            beschikking klant vertrouwen trouw service team help wens hoop groet vriendelijk
            enorm ontzettend bijzonder bedien""",
    }.items()
}

# A line that is only one of these ends the text: what follows is the signature.
CLOSINGS: tuple[str, ...] = (
    "best regards",
    "kind regards",
    "warm regards",
    "warmest regards",
    "regards",
    "best wishes",
    "all the best",
    "best",
    "cheers",
    "thanks",
    "thank you",
    "many thanks",
    "thanks again",
    "thanks and regards",
    "sincerely",
    "yours sincerely",
    "yours truly",
    "yours faithfully",
    "respectfully",
    "talk soon",
    "speak soon",
    "mit freundlichen grussen",
    "mit freundlichem gruss",
    "freundliche grusse",
    "viele grusse",
    "beste grusse",
    "liebe grusse",
    "herzliche grusse",
    "gruss",
    "grusse",
    "lg",
    "vg",
    "mfg",
    "cordialement",
    "bien cordialement",
    "tres cordialement",
    "bien a vous",
    "salutations",
    "sinceres salutations",
    "meilleures salutations",
    "a bientot",
    "saludos",
    "un saludo",
    "saludos cordiales",
    "atentamente",
    "cordialmente",
    "un cordial saludo",
    "reciba un cordial saludo",
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "vriendelijke groet",
    "vriendelijke groeten",
    "hartelijke groet",
    "groeten",
    "groet",
    "mvg",
    "cordiali saluti",
    "distinti saluti",
    "saluti",
    "un saluto",
    "un caro saluto",
    "buona giornata",
    "atenciosamente",
    "cumprimentos",
    "melhores cumprimentos",
    "com os melhores cumprimentos",
    "abracos",
    "um abraco",
    "obrigado",
    "obrigada",
    "merci",
    "danke",
    "gracias",
    "grazie",
    "bedankt",
)

# Opening words of an imperative request ("Please tell me how ...").
REQUEST_OPENERS: tuple[str, ...] = (
    r"^(?:please|pls|kindly) (?!(?:note|be aware|find|see|ignore|disregard|excuse|do not|don't|"
    r"never|allow|accept)\b)\w+",
    r"^(?:could|can|would|will) you (?:please )?\w+",
    r"^(?:i|we) (?:would|'d) (?:like|love|appreciate|be grateful)\b",
    r"^(?:i|we) (?:need|want) (?:to know|you to|a |an |the |my |our )",
    r"^(?:let me know|tell me|advise|explain|send me|confirm)\b",
    r"^(?:i am|i'm) (?:asking|wondering|requesting)\b",
    r"^bitte (?!(?:beachten|entschuldigen)\b)\w+",
    r"^(?:konnten|konnen|wurden) sie (?:mir |uns )?(?:bitte )?\w+",
    r"^(?:ich|wir) (?:mochte|mochten|wurde gerne|wurden gerne|hatte gerne|bitte) ",
    r"^(?:teilen sie|sagen sie|schicken sie|senden sie) mir\b",
    r"^(?:merci de|je vous (?:prie|remercie) de|pourriez-vous|pouvez-vous|veuillez)\b",
    r"^(?:je voudrais|je souhaiterais|j'aimerais|nous voudrions|nous souhaiterions)\b",
    r"^(?:por favor|podrian|podria|puede|pueden) \w+",
    r"^(?:me gustaria|quisiera|quisieramos|necesito saber|agradeceria)\b",
    r"^(?:indiquenme|indiqueme|diganme|digame|envienme|envieme)\b",
    r"^(?:graag|kunt u|kun je|zou u|zou je|wilt u|wil je)\b",
    r"^(?:ik wil graag|ik zou graag|wij willen graag|ik wil weten)\b",
    r"^(?:vi prego|la prego|ti prego|potete|potreste|potrebbe|puo|per favore|cortesemente)\b",
    r"^(?:vorrei|vorremmo|gradirei|mi (?:piacerebbe|servirebbe))\b",
    r"^(?:por favor|poderiam|poderia|podem|pode|favor)\b \w+",
    r"^(?:gostaria|gostariamos|queria|preciso saber)\b",
)

# Answers that settle a yes/no question on their own ("Yes, ...", "Unfortunately not").
YES_NO: frozenset[str] = _word_set(
    """yes no yep nope sure certainly absolutely unfortunately afraid of course definitely
    ja nein leider naturlich selbstverstandlich klar gerne oui non malheureusement bien sur
    evidemment si no lamentablemente claro desafortunadamente nee helaas zeker uiteraard
    natuurlijk si purtroppo certo certamente ovviamente sim nao infelizmente claro
    certamente"""
)

# Concept groups: a word of the question and a word of the reply that share a
# group count as the same topic ("money back" ~ "refund"). Stems are compared,
# so singular/plural and verb forms need no entry of their own.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    (
        "refund",
        "money",
        "reimburse",
        "reimbursement",
        "credit",
        "credited",
        "repay",
        "chargeback",
        "erstattung",
        "ruckerstattung",
        "erstatten",
        "geld",
        "gutschrift",
        "rembourser",
        "remboursement",
        "argent",
        "avoir",
        "reembolso",
        "reembolsar",
        "dinero",
        "devolucion",
        "terugbetaling",
        "geld",
        "terugstorting",
        "rimborso",
        "rimborsare",
        "soldi",
        "accredito",
        "reembolso",
        "dinheiro",
        "estorno",
        "devolver",
    ),
    (
        "deliver",
        "delivery",
        "ship",
        "shipping",
        "shipment",
        "dispatch",
        "dispatched",
        "arrive",
        "arrival",
        "parcel",
        "package",
        "courier",
        "tracking",
        "transit",
        "post",
        "lieferung",
        "liefern",
        "versand",
        "versenden",
        "versendet",
        "paket",
        "zustellung",
        "ankommen",
        "livraison",
        "livrer",
        "colis",
        "expedition",
        "expedie",
        "envoi",
        "arriver",
        "entrega",
        "entregar",
        "envio",
        "enviar",
        "paquete",
        "llegar",
        "levering",
        "leveren",
        "bezorging",
        "bezorgen",
        "verzending",
        "verzenden",
        "pakket",
        "aankomen",
        "consegna",
        "consegnare",
        "spedizione",
        "spedire",
        "pacco",
        "arrivare",
        "entrega",
        "entregar",
        "envio",
        "encomenda",
        "chegar",
        "remessa",
    ),
    (
        "invoice",
        "bill",
        "billing",
        "receipt",
        "rechnung",
        "quittung",
        "beleg",
        "facture",
        "recu",
        "factura",
        "recibo",
        "factuur",
        "rekening",
        "fattura",
        "ricevuta",
        "fatura",
        "nota fiscal",
    ),
    (
        "cancel",
        "cancellation",
        "terminate",
        "termination",
        "unsubscribe",
        "end",
        "kundigen",
        "kundigung",
        "stornieren",
        "stornierung",
        "beenden",
        "annuler",
        "annulation",
        "resilier",
        "resiliation",
        "cancelar",
        "cancelacion",
        "baja",
        "anular",
        "opzeggen",
        "opzegging",
        "annuleren",
        "annulering",
        "disdire",
        "disdetta",
        "annullare",
        "cancellare",
        "cancelar",
        "cancelamento",
        "rescindir",
    ),
    (
        "password",
        "login",
        "log",
        "sign",
        "signin",
        "access",
        "credentials",
        "passe",
        "acces",
        "identifiants",
        "locked",
        "passwort",
        "kennwort",
        "anmelden",
        "anmeldung",
        "einloggen",
        "zugang",
        "mot de passe",
        "connexion",
        "connecter",
        "identifiant",
        "contrasena",
        "acceder",
        "acceso",
        "iniciar",
        "wachtwoord",
        "inloggen",
        "aanmelden",
        "toegang",
        "password",
        "accedere",
        "accesso",
        "credenziali",
        "senha",
        "entrar",
        "acesso",
    ),
    (
        "price",
        "cost",
        "fee",
        "charge",
        "charged",
        "pay",
        "payment",
        "paid",
        "amount",
        "eur",
        "euro",
        "usd",
        "dollar",
        "preis",
        "kosten",
        "gebuhr",
        "bezahlen",
        "zahlung",
        "betrag",
        "prix",
        "cout",
        "frais",
        "payer",
        "paiement",
        "montant",
        "precio",
        "coste",
        "costo",
        "tarifa",
        "pagar",
        "pago",
        "importe",
        "prijs",
        "kosten",
        "betalen",
        "betaling",
        "bedrag",
        "prezzo",
        "costo",
        "pagare",
        "pagamento",
        "importo",
        "preco",
        "custo",
        "taxa",
        "pagar",
        "pagamento",
        "valor",
    ),
    (
        "return",
        "send back",
        "exchange",
        "swap",
        "replace",
        "replacement",
        "rucksendung",
        "zurucksenden",
        "umtausch",
        "umtauschen",
        "ersatz",
        "retour",
        "renvoyer",
        "echange",
        "echanger",
        "remplacer",
        "remplacement",
        "devolver",
        "cambiar",
        "cambio",
        "reemplazo",
        "sustituir",
        "retourneren",
        "ruilen",
        "vervangen",
        "vervanging",
        "reso",
        "restituire",
        "cambiare",
        "sostituire",
        "sostituzione",
        "devolucao",
        "trocar",
        "troca",
        "substituir",
        "substituicao",
        # sending something back, in the words customers and agents both use
        "terugsturen",
        "terugzenden",
        "retourzending",
        "zuruckschicken",
        "ruckgabe",
        "zuruckgeben",
        "renvoi",
        "retourner",
        "devolucion",
        "devolver",
        "rendere",
        "rimandare",
        "reenviar",
    ),
    (
        # a phone call: "will they call ahead?" ~ "the driver will ring you"
        "call",
        "phone",
        "ring",
        "telephone",
        "anruf",
        "anrufen",
        "telefon",
        "telefonisch",
        "appeler",
        "appel",
        "telephone",
        "llamar",
        "llamada",
        "telefono",
        "bellen",
        "telefoon",
        "telefonisch",
        "chiamare",
        "chiamata",
        "ligar",
        "ligacao",
        "telefone",
    ),
    (
        # appointments and bookings: "prendre rendez-vous" ~ "réserver un créneau"
        "appointment",
        "booking",
        "book",
        "reserve",
        "reservation",
        "slot",
        "schedule",
        "termin",
        "terminvereinbarung",
        "buchen",
        "buchung",
        "reservieren",
        "reservierung",
        "rendez-vous",
        "reserver",
        "creneau",
        "cita",
        "reservar",
        "reserva",
        "turno",
        "afspraak",
        "reserveren",
        "reservering",
        "boeken",
        "appuntamento",
        "prenotare",
        "prenotazione",
        "marcacao",
        "marcar",
        "agendar",
        "agendamento",
    ),
    (
        "when",
        "date",
        "day",
        "time",
        "today",
        "tomorrow",
        "week",
        "month",
        "hour",
        "soon",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "wann",
        "datum",
        "heute",
        "morgen",
        "woche",
        "tag",
        "quand",
        "date",
        "jour",
        "demain",
        "semaine",
        "cuando",
        "fecha",
        "hoy",
        "manana",
        "semana",
        "dia",
        "wanneer",
        "datum",
        "vandaag",
        "morgen",
        "week",
        "dag",
        "quando",
        "data",
        "oggi",
        "domani",
        "settimana",
        "giorno",
        "quando",
        "data",
        "hoje",
        "amanha",
        "semana",
        "dia",
    ),
    (
        "account",
        "profile",
        "konto",
        "profil",
        "compte",
        "cuenta",
        "perfil",
        "rekening",
        "account",
        "profiel",
        "conto",
        "profilo",
        "conta",
        "perfil",
    ),
    (
        "discount",
        "coupon",
        "voucher",
        "code",
        "promo",
        "rabatt",
        "gutschein",
        "reduction",
        "remise",
        "bon",
        "descuento",
        "cupon",
        "vale",
        "korting",
        "kortingscode",
        "tegoedbon",
        "sconto",
        "buono",
        "coupon",
        "desconto",
        "cupom",
        "vale",
    ),
    (
        "warranty",
        "guarantee",
        "repair",
        "defect",
        "defective",
        "broken",
        "faulty",
        "garantie",
        "gewahrleistung",
        "reparatur",
        "defekt",
        "kaputt",
        "reparation",
        "panne",
        "garantia",
        "reparacion",
        "averia",
        "roto",
        "reparatie",
        "kapot",
        "garanzia",
        "riparazione",
        "difettoso",
        "rotto",
        "guasto",
        "garantia",
        "reparo",
        "conserto",
        "defeito",
        "avariado",
    ),
    ("address", "adresse", "anschrift", "direccion", "adres", "indirizzo", "endereco", "morada"),
    (
        "subscription",
        "plan",
        "membership",
        "contract",
        "abo",
        "abonnement",
        "mitgliedschaft",
        "vertrag",
        "adhesion",
        "contrat",
        "suscripcion",
        "membresia",
        "contrato",
        "lidmaatschap",
        "contract",
        "abbonamento",
        "iscrizione",
        "contratto",
        "assinatura",
        "subscricao",
        "contrato",
    ),
    (
        "send",
        "sent",
        "attach",
        "attached",
        "attachment",
        "enclosed",
        "senden",
        "schicken",
        "zusenden",
        "anhang",
        "angehangt",
        "beigefugt",
        "envoyer",
        "envoye",
        "joint",
        "ci-joint",
        "enviar",
        "enviado",
        "adjunto",
        "adjuntamos",
        "sturen",
        "toesturen",
        "bijlage",
        "bijgevoegd",
        "mandare",
        "inviare",
        "allegato",
        "allegata",
        "allego",
        "mandar",
        "anexo",
        "anexa",
        "segue",
    ),
)
