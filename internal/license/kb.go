package license

import (
	"fmt"
	"slices"
	"strings"
)

// The knowledge base. The facts below were read from the licence text named
// in Source (a public copy: the SPDX licence list, the vendor's repository,
// a model card that embeds the terms); entries marked Provisional rest on
// secondary descriptions because no copy of the text was at hand. The
// identification phrases are a few words each, in the licence's wording,
// and never the text itself.
//
// Entries are kept sorted by ID, in byte order (checked by a test).

// Shared obligation pieces.
var (
	carryPermissive = []Carry{CarryLicenseCopy, CarryCopyrightNotices}
	carryOpenRAIL   = []Carry{CarryLicenseCopy, CarryUseRestrictions, CarryModificationNotices, CarryCopyrightNotices}
	carryLlama      = []Carry{CarryLicenseCopy, CarryNoticeFile}
	carryQwen       = []Carry{CarryLicenseCopy, CarryModificationNotices, CarryNoticeFile}
	carryGNU        = []Carry{CarryLicenseCopy, CarrySourceCode, CarrySameLicense, CarryModificationNotices, CarryCopyrightNotices}
)

const (
	llamaCap       = 700_000_000
	llamaCapAction = "if the licensee's products or services (with affiliates) had more than 700 million monthly active users in the calendar month before the version's release date, rights must be requested from Meta and none apply until granted"
	llamaNote      = "The 700M MAU test is taken once, at the version's release date. The litigation clause ends the licence for a licensee who sues Meta over the materials. Governed by California law."
	qwenCap        = 100_000_000
	qwenCapAction  = "a licensee using the materials commercially whose product or service has more than 100 million monthly active users must request a licence from Alibaba Cloud and may not exercise the rights without it"
	openRAILCarry  = "the use restrictions must be part of any agreement under which the model or a derivative is passed on, and recipients told of them"
	// Llama 3.1 and later: outputs may train other models, with strings attached.
	llamaOutputs = "outputs may be used to create, train or improve other AI models; a model built so and distributed must carry the naming rule and the \"Built with Llama\" display"
	llamaNaming  = "a distributed AI model created, trained, fine-tuned or improved with the Llama materials or their outputs must have a name beginning with \"Llama\""
	llamaAttrib  = "prominently on a related website, user interface, blog post, about page or product documentation, when distributing the materials or a product or service (including another AI model) that contains them"
	euMultimodal = "the licence grant of section 1(a), for an individual domiciled in, or a company with its principal place of business in, the European Union"
)

// bsdSupport are the BSD-family phrases shared by Apache 1.1 and the
// 2- and 3-clause BSD licences.
var bsdSupport = []string{
	"redistribution and use in source and binary forms",
	"with or without modification, are permitted provided",
	"redistributions of source code must retain",
	"this list of conditions and the following disclaimer",
	"in the documentation and/or other materials provided",
}

// bsdVariants exclude licences that look like BSD but are not the 2- or
// 3-clause text: 4-clause advertising, Apache 1.x, patent grants and
// disclaimers, the no-nuclear variants and NCSA.
var bsdVariants = []string{
	"all advertising materials mentioning features",
	"this product includes software developed by",
	"apache software foundation",
	"apache group",
	"patent license",
	"patent rights are granted by this license",
	"nuclear facility",
	"permission is hereby granted, free of charge", // NCSA: MIT grant, BSD conditions
}

var openRAILSupport = []string{
	"Derivatives of the Model",
	"Complementary Material",
	"use-based restrictions",
	"Attachment A",
	"You shall require all of Your users",
	"Licensor claims no rights in the Output",
}

var llamaSupport = []string{
	"Llama Materials",
	"700 million monthly active users",
	"Additional Commercial Terms",
	"Meta Platforms",
	"integrated end user product",
}

var knowledgeBase = []License{
	{
		ID: "AGPL-3.0", SPDX: true,
		Name: "GNU Affero General Public License v3.0", URL: "https://www.gnu.org/licenses/agpl-3.0.html",
		Released: "19 November 2007", Family: FamilyCopyleft,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			DerivativesMustCarry: carryGNU,
			Copyleft:             true,
			NetworkUse:           true,
		},
		Source:  "SPDX license-list-XML src/AGPL-3.0-only.xml",
		Notes:   "Section 13: a modified version that users interact with remotely must offer them its Corresponding Source. Covers -only and -or-later.",
		aliases: []string{"agpl-3.0-only", "agpl-3.0-or-later", "agpl-3.0+", "agplv3", "agpl3", "agpl-3", "licenseref-agpl-3.0"},
		names:   []string{"gnu affero general public license v3.0", "gnu affero general public license version 3", "gnu agpl v3", "gnu agpl v3.0"},
		links:   []string{"gnu.org/licenses/agpl-3.0", "gnu.org/licenses/agpl.", "opensource.org/licenses/agpl-3.0", "opensource.org/license/agpl-v3"},
		text: textRule{
			keys: []string{"GNU AFFERO GENERAL PUBLIC LICENSE Version 3"},
			support: []string{
				"19 November 2007",
				"Remote Network Interaction",
				"network server software",
				"Conveying Non-Source Forms",
				"Installation Information",
				"Corresponding Source of your version",
			},
			min: 4,
		},
	},
	{
		ID: "Apache-1.1", SPDX: true,
		Name: "Apache License 1.1", URL: "https://www.apache.org/licenses/LICENSE-1.1",
		Family: FamilyPermissive,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			AttributionText:      []string{"acknowledgment that the product includes software developed by the Apache Software Foundation"},
			AttributionNote:      "in the end-user documentation of a redistribution, or in the software where third-party acknowledgments appear",
			NamingRule:           "derived products may not be called \"Apache\", nor use it in their name, without written permission of the Apache Software Foundation",
			DerivativesMustCarry: []Carry{CarryCopyrightNotices, CarryAttribution},
		},
		Source:  "SPDX license-list-XML src/Apache-1.1.xml",
		Notes:   "Superseded by Apache-2.0; listed so that a 1.1 text is never taken for 2.0.",
		aliases: []string{"apache-1.1", "licenseref-apache-1.1"},
		names:   []string{"apache software license 1.1", "apache software license, version 1.1", "apache license 1.1", "apache 1.1"},
		links:   []string{"apache.org/licenses/license-1.1", "opensource.org/licenses/apache-1.1"},
		text: textRule{
			keys: []string{"The Apache Software License, Version 1.1"},
			support: []string{
				"includes software developed by the Apache Software Foundation",
				"end-user documentation included with the redistribution",
				"redistributions in binary form must reproduce",
				"written permission of the Apache Software Foundation",
			},
		},
	},
	{
		ID: "Apache-2.0", SPDX: true,
		Name: "Apache License 2.0", URL: "https://www.apache.org/licenses/LICENSE-2.0",
		Released: "January 2004", Family: FamilyPermissive,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			NoticeFile:           true,
			DerivativesMustCarry: []Carry{CarryLicenseCopy, CarryModificationNotices, CarryCopyrightNotices, CarryNoticeFile},
		},
		Source:  "SPDX license-list-XML src/Apache-2.0.xml",
		Notes:   "Section 4(d): if the work ships a NOTICE file, redistributions keep its attribution notices. The patent licence ends for a licensee who sues over patents in the work.",
		aliases: []string{"apache2", "apache-2", "apache 2", "apache2.0", "licenseref-apache-2.0"},
		names:   []string{"apache 2.0", "apache license 2.0", "apache license, version 2.0", "apache license version 2.0", "apache software license 2.0", "apache software license, version 2.0", "the apache license, version 2.0", "apache license v2.0", "apache-2.0 license"},
		links:   []string{"apache.org/licenses/license-2.0", "opensource.org/licenses/apache-2.0", "opensource.org/license/apache-2-0", "choosealicense.com/licenses/apache-2.0"},
		text: textRule{
			keys: []string{"Apache License Version 2.0"},
			support: []string{
				"terms and conditions for use, reproduction, and distribution",
				"Grant of Copyright License",
				"Grant of Patent License",
				"Submission of Contributions",
				"sections 1 through 9 of this document",
				"how to apply the Apache License",
			},
			min: 4,
		},
	},
	{
		ID: "BSD-2-Clause", SPDX: true,
		Name: "BSD 2-Clause \"Simplified\" License", URL: "https://opensource.org/license/bsd-2-clause",
		Family: FamilyPermissive,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			DerivativesMustCarry: carryPermissive,
		},
		Source:  "SPDX license-list-XML src/BSD-2-Clause.xml",
		Notes:   "Source redistributions keep the notice, conditions and disclaimer; binary redistributions reproduce them in documentation or other materials.",
		aliases: []string{"bsd-2", "bsd2", "freebsd", "licenseref-bsd-2-clause"},
		names:   []string{"bsd 2-clause", "bsd 2-clause license", "simplified bsd", "simplified bsd license", "bsd-2-clause license", "2-clause bsd"},
		links:   []string{"opensource.org/licenses/bsd-2-clause", "opensource.org/license/bsd-2-clause", "choosealicense.com/licenses/bsd-2-clause"},
		text: textRule{
			keys:    []string{"redistributions in binary form must reproduce"},
			support: bsdSupport,
			exclude: append([]string{"endorse or promote products derived", "nor the names of its contributors"}, bsdVariants...),
			min:     5,
		},
	},
	{
		ID: "BSD-3-Clause", SPDX: true,
		Name: "BSD 3-Clause \"New\" or \"Revised\" License", URL: "https://opensource.org/license/bsd-3-clause",
		Family: FamilyPermissive,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			DerivativesMustCarry: carryPermissive,
		},
		Source:  "SPDX license-list-XML src/BSD-3-Clause.xml",
		Notes:   "As BSD-2-Clause, and the names of the copyright holder and contributors may not be used to endorse or promote derived products without permission.",
		aliases: []string{"bsd-3", "bsd3", "licenseref-bsd-3-clause"},
		names:   []string{"bsd 3-clause", "bsd 3-clause license", "new bsd", "new bsd license", "modified bsd license", "revised bsd license", "bsd-3-clause license", "3-clause bsd"},
		links:   []string{"opensource.org/licenses/bsd-3-clause", "opensource.org/license/bsd-3-clause", "choosealicense.com/licenses/bsd-3-clause"},
		text: textRule{
			keys: []string{
				"endorse or promote products derived from this software",
				"nor the names of its contributors may",
			},
			support: append([]string{"redistributions in binary form must reproduce"}, bsdSupport...),
			exclude: bsdVariants,
			min:     5,
		},
	},
	{
		ID: "CC-BY-4.0", SPDX: true,
		Name: "Creative Commons Attribution 4.0 International", URL: "https://creativecommons.org/licenses/by/4.0/legalcode",
		Family: FamilyPermissive,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			AttributionNote:      "identify the creator, keep copyright, licence and disclaimer notices, link the licence, and say whether the material was modified",
			DerivativesMustCarry: []Carry{CarryAttribution, CarryLicenseReference, CarryModificationNotices, CarryCopyrightNotices},
		},
		Source:  "SPDX license-list-XML src/CC-BY-4.0.xml",
		Notes:   "Adapted material may be licensed on any terms, but may not stop recipients of it from complying with this licence.",
		aliases: []string{"cc-by-4", "licenseref-cc-by-4.0"},
		names:   []string{"cc by 4.0", "creative commons attribution 4.0", "creative commons attribution 4.0 international", "cc-by 4.0", "attribution 4.0 international"},
		links:   []string{"creativecommons.org/licenses/by/4.0"},
		text: textRule{
			keys: []string{"Creative Commons Attribution 4.0 International Public License"},
			support: []string{
				"Licensed Material",
				"Adapter's License",
				"Effective Technological Measures",
				"Sui Generis Database Rights",
			},
		},
	},
	{
		ID: "CC-BY-NC-4.0", SPDX: true,
		Name: "Creative Commons Attribution Non Commercial 4.0 International", URL: "https://creativecommons.org/licenses/by-nc/4.0/legalcode",
		Family: FamilyNonCommercial,
		Obligations: Obligations{
			CommercialUse:        CommercialNotAllowed,
			CommercialNote:       "rights are granted for NonCommercial purposes only: not primarily intended for or directed towards commercial advantage or monetary compensation",
			AttributionNote:      "as CC BY 4.0: identify the creator, keep notices, link the licence, say whether modified",
			DerivativesMustCarry: []Carry{CarryAttribution, CarryLicenseReference, CarryModificationNotices, CarryCopyrightNotices},
		},
		Source:  "SPDX license-list-XML src/CC-BY-NC-4.0.xml",
		aliases: []string{"cc-by-nc-4", "licenseref-cc-by-nc-4.0"},
		names:   []string{"cc by-nc 4.0", "cc by nc 4.0", "creative commons attribution-noncommercial 4.0", "creative commons attribution-noncommercial 4.0 international", "attribution-noncommercial 4.0 international", "creative commons attribution non commercial 4.0"},
		links:   []string{"creativecommons.org/licenses/by-nc/4.0"},
		text: textRule{
			keys: []string{"Creative Commons Attribution-NonCommercial 4.0 International Public License"},
			support: []string{
				"NonCommercial means not primarily intended for",
				"Licensed Material",
				"Adapter's License",
				"Effective Technological Measures",
			},
		},
	},
	{
		ID: "CC-BY-SA-4.0", SPDX: true,
		Name: "Creative Commons Attribution Share Alike 4.0 International", URL: "https://creativecommons.org/licenses/by-sa/4.0/legalcode",
		Family: FamilyCopyleft,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			AttributionNote:      "as CC BY 4.0: identify the creator, keep notices, link the licence, say whether modified",
			DerivativesMustCarry: []Carry{CarryAttribution, CarryLicenseReference, CarryModificationNotices, CarryCopyrightNotices, CarrySameLicense},
			ShareAlike:           true,
		},
		Source:  "SPDX license-list-XML src/CC-BY-SA-4.0.xml",
		Notes:   "Adapted material must be shared under this licence, a later version with the same elements, or a BY-SA Compatible License.",
		aliases: []string{"cc-by-sa-4", "licenseref-cc-by-sa-4.0"},
		names:   []string{"cc by-sa 4.0", "cc by sa 4.0", "creative commons attribution-sharealike 4.0", "creative commons attribution-sharealike 4.0 international", "attribution-sharealike 4.0 international", "creative commons attribution share alike 4.0"},
		links:   []string{"creativecommons.org/licenses/by-sa/4.0"},
		text: textRule{
			keys: []string{"Creative Commons Attribution-ShareAlike 4.0 International Public License"},
			support: []string{
				"BY-SA Compatible License",
				"Licensed Material",
				"Adapter's License",
				"Effective Technological Measures",
			},
		},
	},
	{
		ID: "GPL-3.0", SPDX: true,
		Name: "GNU General Public License v3.0", URL: "https://www.gnu.org/licenses/gpl-3.0.html",
		Released: "29 June 2007", Family: FamilyCopyleft,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			DerivativesMustCarry: carryGNU,
			Copyleft:             true,
		},
		Source:  "SPDX license-list-XML src/GPL-3.0-only.xml",
		Notes:   "Conveyed modified versions are licensed as a whole under the GPL with their Corresponding Source. Covers -only and -or-later (the deprecated SPDX id GPL-3.0 names the text).",
		aliases: []string{"gpl-3.0-only", "gpl-3.0-or-later", "gpl-3.0+", "gplv3", "gpl3", "gpl-3", "licenseref-gpl-3.0"},
		names:   []string{"gnu general public license v3.0", "gnu general public license version 3", "gnu gpl v3", "gnu gpl v3.0", "gpl v3"},
		links:   []string{"gnu.org/licenses/gpl-3.0", "opensource.org/licenses/gpl-3.0", "opensource.org/license/gpl-3-0"},
		text: textRule{
			keys: []string{"GNU GENERAL PUBLIC LICENSE Version 3"},
			support: []string{
				"29 June 2007",
				"copyleft license for software and other kinds",
				"Conveying Non-Source Forms",
				"Installation Information",
				"Apply These Terms to Your New Programs",
				"Use with the GNU Affero General Public License",
			},
			min: 4,
		},
	},
	{
		ID: "LGPL-3.0", SPDX: true,
		Name: "GNU Lesser General Public License v3.0", URL: "https://www.gnu.org/licenses/lgpl-3.0.html",
		Released: "29 June 2007", Family: FamilyCopyleft,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			DerivativesMustCarry: carryGNU,
			Copyleft:             true,
		},
		Source:  "SPDX license-list-XML src/LGPL-3.0-only.xml",
		Notes:   "Weak copyleft: modified versions of the library stay under the LGPL; a Combined Work that only uses the library may be under other terms if the conditions of section 4 (notice, licence copies, relinking) are met. It supplements GPL-3.0, whose text must accompany it. Covers -only and -or-later.",
		aliases: []string{"lgpl-3.0-only", "lgpl-3.0-or-later", "lgpl-3.0+", "lgplv3", "lgpl3", "lgpl-3", "licenseref-lgpl-3.0"},
		names:   []string{"gnu lesser general public license v3.0", "gnu lesser general public license version 3", "gnu lgpl v3", "gnu lgpl v3.0", "lgpl v3"},
		links:   []string{"gnu.org/licenses/lgpl-3.0", "opensource.org/licenses/lgpl-3.0", "opensource.org/license/lgpl-3-0"},
		text: textRule{
			keys: []string{"GNU LESSER GENERAL PUBLIC LICENSE Version 3"},
			support: []string{
				"29 June 2007",
				"Additional Definitions",
				"Combined Works",
				"Conveying Modified Versions",
				"incorporating material from Library Header Files",
				"Revised Versions of the GNU Lesser",
			},
			min: 4,
		},
	},
	{
		ID: "MIT", SPDX: true,
		Name: "MIT License", URL: "https://opensource.org/license/mit",
		Family: FamilyPermissive,
		Obligations: Obligations{
			CommercialUse:        CommercialAllowed,
			DerivativesMustCarry: carryPermissive,
		},
		Source:  "SPDX license-list-XML src/MIT.xml",
		Notes:   "The copyright notice and permission notice go with all copies or substantial portions.",
		aliases: []string{"expat", "licenseref-mit"},
		names:   []string{"mit license", "the mit license", "mit licence", "mit-license"},
		links:   []string{"opensource.org/licenses/mit", "opensource.org/license/mit", "choosealicense.com/licenses/mit"},
		text: textRule{
			keys: []string{"included in all copies or substantial portions"},
			support: []string{
				"permission is hereby granted, free of charge",
				"to deal in the Software without restriction",
				"merge, publish, distribute, sublicense, and/or sell",
				"whom the Software is furnished to do so",
				"the software is provided \"as is\", without warranty",
			},
			// The X11 licence adds a clause on using the holders' names.
			exclude: []string{"be used in advertising or otherwise to promote"},
			min:     4,
		},
	},
	{
		ID:   "bigcode-openrail-m",
		Name: "BigCode Open RAIL-M v1 License Agreement", URL: "https://huggingface.co/spaces/bigcode/bigcode-model-license-agreement",
		Family: FamilyOpenRAIL,
		Obligations: Obligations{
			CommercialUse:          CommercialAllowed,
			CommercialNote:         "royalty-free use, modification and sharing, commercial versions included",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "Attachment A",
			DerivativesMustCarry:   []Carry{CarryLicenseCopy, CarryUseRestrictions},
		},
		Source:      "secondary: the agreement's preamble and the BigCode OpenRAIL-M FAQ (bigcode-project.org); the full agreement text was not available",
		Provisional: true,
		Notes:       "Sharing the model or modifications of it requires the responsible-use paragraph and the Attachment A restrictions (or similar ones) in the agreement with recipients. Source code and data are not licensed by it.",
		aliases:     []string{"bigcode-open-rail-m-v1", "bigcode-openrail-m-v1", "licenseref-bigcode-openrail-m"},
		names:       []string{"bigcode open rail-m", "bigcode open rail-m v1", "bigcode openrail-m", "bigcode open rail-m v1 license agreement"},
		links:       []string{"huggingface.co/spaces/bigcode/bigcode-model-license-agreement"},
		text: textRule{
			keys: []string{"BigCode Open RAIL-M v1 License Agreement", "created under BigCode"},
			support: []string{
				"Large Language Models (\"LLMs\") for code generation",
				"share commercial versions of it",
				"Use restrictions are included to prevent misuse",
				"Attachment A",
			},
		},
	},
	{
		ID:   "bigscience-openrail-m",
		Name: "BigScience Open RAIL-M License", URL: "https://www.licenses.ai/blog/2022/8/26/bigscience-open-rail-m-license",
		Released: "18 August 2022", Family: FamilyOpenRAIL,
		Obligations: Obligations{
			CommercialUse:          CommercialAllowed,
			CommercialNote:         "royalty-free, including hosting for third parties",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "Attachment A",
			OutputsTrainingNote:    "a model trained on the outputs to perform similarly (distillation) is a derivative and inherits the use restrictions",
			DerivativesMustCarry:   carryOpenRAIL,
		},
		Source:      "secondary: section-by-section summaries quoting the 18 August 2022 text; it follows the same template as creativeml-openrail-m",
		Provisional: true,
		Notes:       openRAILCarry + ".",
		aliases:     []string{"bigscience-open-rail-m", "licenseref-bigscience-openrail-m"},
		names:       []string{"bigscience open rail-m", "bigscience openrail-m", "bigscience open rail-m license"},
		links:       []string{"licenses.ai/blog/2022/8/26/bigscience-open-rail-m-license"},
		text: textRule{
			keys:    []string{"BigScience Open RAIL-M License", "BigScience OpenRAIL-M"},
			support: openRAILSupport,
			min:     4,
		},
	},
	{
		ID:   "creativeml-openrail-m",
		Name: "CreativeML Open RAIL-M", URL: "https://huggingface.co/spaces/CompVis/stable-diffusion-license",
		Released: "22 August 2022", Family: FamilyOpenRAIL,
		Obligations: Obligations{
			CommercialUse:          CommercialAllowed,
			CommercialNote:         "royalty-free, including hosting for third parties",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "Attachment A",
			OutputsTrainingNote:    "a model trained on the outputs to perform similarly (distillation) is a derivative and inherits the use restrictions",
			DerivativesMustCarry:   carryOpenRAIL,
		},
		Source:  "CompVis/stable-diffusion LICENSE",
		Notes:   openRAILCarry + ". The licensor may restrict use remotely and update the model; licensees should make reasonable efforts to use the latest version.",
		aliases: []string{"creativeml-open-rail-m", "licenseref-creativeml-openrail-m"},
		names:   []string{"creativeml open rail-m", "creativeml openrail-m", "creativeml open rail-m license"},
		links:   []string{"huggingface.co/spaces/compvis/stable-diffusion-license"},
		text: textRule{
			keys: []string{"CreativeML Open RAIL-M"},
			support: append([]string{
				"use the latest version of the Model",
				"dated August 22, 2022",
			}, openRAILSupport...),
			min: 4,
		},
	},
	{
		ID:   "deepseek",
		Name: "DeepSeek License Agreement", URL: "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-MODEL",
		Released: "Version 1.0, 23 October 2023", Family: FamilyOpenRAIL,
		Obligations: Obligations{
			CommercialUse:          CommercialAllowed,
			CommercialNote:         "royalty-free, including hosting for third parties (software-as-a-service)",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "Attachment A (includes military use)",
			OutputsTrainingNote:    "a model trained on the outputs to perform similarly (distillation) is a derivative and inherits the use restrictions",
			DerivativesMustCarry:   carryOpenRAIL,
		},
		Source:  "deepseek-ai/DeepSeek-V3 LICENSE-MODEL",
		Notes:   openRAILCarry + ". DeepSeek may restrict use remotely. Governed by PRC law, Hangzhou courts.",
		aliases: []string{"deepseek-license", "deepseek-model-license", "licenseref-deepseek"},
		names:   []string{"deepseek license agreement", "deepseek license", "deepseek model license"},
		links:   []string{"deepseek-ai/deepseek-v3/blob/main/license-model", "deepseek-ai/deepseek-v2/blob/main/license-model", "deepseek-ai/deepseek-llm/blob/main/license-model", "deepseek-ai/deepseek-coder/blob/main/license-model"},
		text: textRule{
			keys: []string{"DEEPSEEK LICENSE AGREEMENT", "Hangzhou DeepSeek Artificial Intelligence"},
			support: []string{
				"Derivatives of the Model",
				"Complementary Material",
				"use-based restrictions",
				"Attachment A",
				"For military use in any way",
			},
			min: 4,
		},
	},
	{
		ID:   "falcon-180b-tii",
		Name: "Falcon-180B TII License 1.0", URL: "https://huggingface.co/spaces/tiiuae/falcon-180b-license/blob/main/LICENSE.txt",
		Family: FamilyCommunity,
		Obligations: Obligations{
			CommercialUse:          CommercialConditional,
			CommercialNote:         "commercial use is allowed except \"Hosting Use\" (offering the model as a shared instance or managed service), which needs a separate licence from TII",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "https://falconllm.tii.ae/acceptable-use-policy.html",
			DerivativesMustCarry:   []Carry{CarryLicenseCopy, CarryUseRestrictions},
		},
		Source:      "secondary: the Falcon-180B model card and release notes describing the licence; the licence text was not available",
		Provisional: true,
		Notes:       "The Hub card is tagged license: unknown; identification relies on names, links and text.",
		aliases:     []string{"falcon-180b-tii-license", "falcon-180b-license", "licenseref-falcon-180b-tii"},
		names:       []string{"falcon-180b tii license", "falcon 180b tii license", "falcon-180b tii license 1.0"},
		links:       []string{"huggingface.co/spaces/tiiuae/falcon-180b-license", "falconllm.tii.ae/terms-and-conditions"},
		text: textRule{
			keys: []string{"Falcon 180B TII License"},
			support: []string{
				"Technology Innovation Institute",
				"Hosting Use",
				"acceptable use policy",
				"falconllm.tii.ae",
			},
		},
	},
	{
		ID:   "falcon-llm-license",
		Name: "TII Falcon License 2.0 (Falcon-LLM License)", URL: "https://falconllm.tii.ae/falcon-terms-and-conditions.html",
		Family: FamilyCommunity,
		Obligations: Obligations{
			CommercialUse:          CommercialAllowed,
			CommercialNote:         "Apache-2.0-based terms with an acceptable use policy; check the version attached to the model",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "https://falconllm.tii.ae/acceptable-use-policy.html",
			DerivativesMustCarry:   []Carry{CarryLicenseCopy, CarryUseRestrictions, CarryCopyrightNotices},
		},
		Source:      "secondary: Falcon 2, Falcon 3 and Falcon-H1 model cards (license: other, license_name: falcon-llm-license) and descriptions of the terms; the terms text was not available",
		Provisional: true,
		Notes:       "Used by Falcon 2, Falcon 3 and Falcon-H1; earlier Falcon-7B/40B are Apache-2.0.",
		aliases:     []string{"falcon-license", "tii-falcon-license", "tii-falcon-license-2.0", "licenseref-falcon-llm-license"},
		names:       []string{"tii falcon license", "tii falcon license 2.0", "falcon-llm license", "falcon llm license", "tii falcon-llm license 2.0"},
		links:       []string{"falconllm.tii.ae/falcon-terms-and-conditions"},
		text: textRule{
			keys: []string{"TII Falcon License", "Falcon-LLM License"},
			support: []string{
				"Technology Innovation Institute",
				"acceptable use policy",
				"falconllm.tii.ae",
			},
		},
	},
	{
		ID:   "gemma",
		Name: "Gemma Terms of Use", URL: "https://ai.google.dev/gemma/terms",
		Released: "last modified 24 March 2025", Family: FamilyCommunity,
		Obligations: Obligations{
			CommercialUse:          CommercialAllowed,
			NoticeFile:             true,
			AttributionNote:        "distributions other than a hosted service carry a Notice file with the notice the terms give",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "https://ai.google.dev/gemma/prohibited_use_policy",
			OutputsTrainingNote:    "Google claims no rights in outputs, but a model made to perform like Gemma by distillation or training on its synthetic outputs is a Model Derivative and under these terms",
			DerivativesMustCarry:   []Carry{CarryLicenseCopy, CarryUseRestrictions, CarryModificationNotices, CarryNoticeFile},
		},
		Source:  "the Gemma Terms of Use (last modified 24 March 2025) as reproduced in public repositories",
		Notes:   "The section 3.2 use restrictions must be an enforceable provision of any agreement for Gemma or Model Derivatives. Google may restrict use it believes violates the terms, remotely or otherwise. Gemma 4 and later are Apache-2.0; check per model.",
		aliases: []string{"gemma-terms", "gemma-terms-of-use", "licenseref-gemma"},
		names:   []string{"gemma terms of use", "gemma license", "gemma terms"},
		links:   []string{"ai.google.dev/gemma/terms"},
		text: textRule{
			keys: []string{"Gemma Terms of Use", "ai.google.dev/gemma/terms"},
			support: []string{
				"Gemma Services",
				"Model Derivatives",
				"Hosted Service",
				"Gemma Prohibited Use Policy",
				"Google reserves the right to restrict (remotely",
				"Google claims no rights in Outputs",
			},
			min: 4,
		},
	},
	llamaV("llama2", "Llama 2 Community License Agreement", "https://ai.meta.com/llama/license/", "18 July 2023",
		"models/llama2/LICENSE",
		Obligations{
			CommercialUse:              CommercialConditional,
			CommercialNote:             "allowed under the 700M monthly-active-user cap",
			UserCap:                    llamaCap,
			UserCapAction:              llamaCapAction,
			NoticeFile:                 true,
			AcceptableUsePolicy:        true,
			AcceptableUsePolicyRef:     "https://ai.meta.com/llama/use-policy",
			OutputsTrainingRestriction: true,
			OutputsTrainingNote:        "the materials and their outputs may not be used to improve any other large language model (Llama 2 and its derivatives excepted), section 1.b.v",
			DerivativesMustCarry:       carryLlama,
		},
		[]string{"llama-2", "llama 2", "llama2-community", "llama-2-community", "licenseref-llama2"},
		[]string{"llama 2 community license", "llama 2 community license agreement", "llama2 community license"},
		[]string{"ai.meta.com/llama/license", "ai.meta.com/resources/models-and-libraries/llama-downloads", "llama-models/blob/main/models/llama2/license"},
		[]string{"LLAMA 2 COMMUNITY LICENSE AGREEMENT", "Llama 2 Version Release Date", "Llama 2 is licensed under the", "ai.meta.com/llama/use-policy"},
		[]string{"improve any other large language model"},
	),
	llamaV("llama3", "Meta Llama 3 Community License Agreement", "https://llama.meta.com/llama3/license/", "18 April 2024",
		"models/llama3/LICENSE",
		Obligations{
			CommercialUse:              CommercialConditional,
			CommercialNote:             "allowed under the 700M monthly-active-user cap",
			UserCap:                    llamaCap,
			UserCapAction:              llamaCapAction,
			AttributionText:            []string{"Built with Meta Llama 3"},
			AttributionNote:            llamaAttrib,
			NoticeFile:                 true,
			NamePrefix:                 "Llama 3",
			NamingRule:                 "a distributed AI model created, trained, fine-tuned or improved with the Llama materials must have a name beginning with \"Llama 3\"",
			AcceptableUsePolicy:        true,
			AcceptableUsePolicyRef:     "https://llama.meta.com/llama3/use-policy",
			OutputsTrainingRestriction: true,
			OutputsTrainingNote:        "the materials and their outputs may not be used to improve any other large language model (Meta Llama 3 and its derivatives excepted), section 1.b.v",
			DerivativesMustCarry:       carryLlama,
		},
		[]string{"llama-3", "llama 3", "meta-llama-3", "llama3-community", "licenseref-llama3"},
		[]string{"meta llama 3 community license", "meta llama 3 community license agreement", "llama 3 community license", "llama 3 community license agreement"},
		[]string{"llama.meta.com/llama3/license", "llama.com/llama3/license", "llama-models/blob/main/models/llama3/license"},
		[]string{"META LLAMA 3 COMMUNITY LICENSE AGREEMENT", "Meta Llama 3 Version Release Date", "Built with Meta Llama 3", "llama.meta.com/llama3/use-policy"},
		[]string{"improve any other large language model", "beginning of any such AI model name"},
	),
	llamaV("llama3.1", "Llama 3.1 Community License Agreement", "https://www.llama.com/llama3_1/license/", "23 July 2024",
		"models/llama3_1/LICENSE and USE_POLICY.md",
		llamaObligations("https://llama.meta.com/llama3_1/use-policy", nil),
		[]string{"llama-3.1", "llama 3.1", "llama3_1", "llama-3_1", "llama3.1-community", "licenseref-llama3.1"},
		[]string{"llama 3.1 community license", "llama 3.1 community license agreement"},
		[]string{"llama.meta.com/llama3_1/license", "llama.com/llama3_1/license", "llama-models/blob/main/models/llama3_1/license"},
		[]string{"LLAMA 3.1 COMMUNITY LICENSE AGREEMENT", "Llama 3.1 Version Release Date", "Llama 3.1 is licensed under the", "llama3_1/use-policy"},
		[]string{"Built with Llama", "beginning of any such AI model name"},
	),
	llamaV("llama3.2", "Llama 3.2 Community License Agreement", "https://www.llama.com/llama3_2/license/", "25 September 2024",
		"models/llama3_2/LICENSE and USE_POLICY.md",
		llamaObligations("https://www.llama.com/llama3_2/use-policy", []RegionalExclusion{{
			Jurisdictions: []string{"EU"},
			Scope:         "multimodal models included in Llama 3.2",
			Excluded:      euMultimodal,
			Note:          "stated in the Llama 3.2 acceptable use policy; does not apply to end users of a product or service that incorporates such models",
		}}),
		[]string{"llama-3.2", "llama 3.2", "llama3_2", "llama-3_2", "llama3.2-community", "licenseref-llama3.2"},
		[]string{"llama 3.2 community license", "llama 3.2 community license agreement"},
		[]string{"llama.meta.com/llama3_2/license", "llama.com/llama3_2/license", "llama-models/blob/main/models/llama3_2/license"},
		[]string{"LLAMA 3.2 COMMUNITY LICENSE AGREEMENT", "Llama 3.2 Version Release Date", "Llama 3.2 is licensed under the", "llama3_2/use-policy"},
		[]string{"Built with Llama", "beginning of any such AI model name"},
	),
	llamaV("llama3.3", "Llama 3.3 Community License Agreement", "https://www.llama.com/llama3_3/license/", "6 December 2024",
		"models/llama3_3/LICENSE and USE_POLICY.md",
		llamaObligations("https://www.llama.com/llama3_3/use-policy", []RegionalExclusion{{
			Jurisdictions: []string{"EU"},
			Scope:         "multimodal models included in Llama 3.3",
			Excluded:      euMultimodal,
			Note:          "stated in the Llama 3.3 acceptable use policy (Llama 3.3 itself was released as a text model); does not apply to end users of a product or service that incorporates such models",
		}}),
		[]string{"llama-3.3", "llama 3.3", "llama3_3", "llama-3_3", "llama3.3-community", "licenseref-llama3.3"},
		[]string{"llama 3.3 community license", "llama 3.3 community license agreement"},
		[]string{"llama.meta.com/llama3_3/license", "llama.com/llama3_3/license", "llama-models/blob/main/models/llama3_3/license"},
		[]string{"LLAMA 3.3 COMMUNITY LICENSE AGREEMENT", "Llama 3.3 Version Release Date", "Llama 3.3 is licensed under the", "llama3_3/use-policy"},
		[]string{"Built with Llama", "beginning of any such AI model name"},
	),
	llamaV("llama4", "Llama 4 Community License Agreement", "https://www.llama.com/llama4/license/", "5 April 2025",
		"models/llama4/LICENSE and USE_POLICY.md",
		llamaObligations("https://www.llama.com/llama4/use-policy", []RegionalExclusion{{
			Jurisdictions: []string{"EU"},
			Scope:         "multimodal models included in Llama 4",
			Excluded:      euMultimodal,
			Note:          "stated in the Llama 4 acceptable use policy; the Llama 4 models are natively multimodal; does not apply to end users of a product or service that incorporates such models",
		}}),
		[]string{"llama-4", "llama 4", "llama4-community", "licenseref-llama4"},
		[]string{"llama 4 community license", "llama 4 community license agreement"},
		[]string{"llama.meta.com/llama4/license", "llama.com/llama4/license", "llama-models/blob/main/models/llama4/license"},
		[]string{"LLAMA 4 COMMUNITY LICENSE AGREEMENT", "Llama 4 Version Effective Date", "Llama 4 is licensed under the", "llama.com/llama4/use-policy"},
		[]string{"Built with Llama", "beginning of any such AI model name"},
	),
	{
		ID:   "mistral-mrl",
		Name: "Mistral AI Research License (MRL-0.1)", URL: "https://mistral.ai/licenses/MRL-0.1.md",
		Family: FamilyResearch,
		Obligations: Obligations{
			CommercialUse:              CommercialNotAllowed,
			CommercialNote:             "Research Purposes only: personal, scientific or academic research that is non-profit and not connected to commercial activity; excludes use by staff of companies in their tasks or any revenue-directed test, and any distribution by a commercial entity, hosted services included",
			NoticeFile:                 true,
			AttributionNote:            "copies of a Mistral Model carry a Notice file with the attribution the licence gives; derivatives carry prominent notices that the model was modified",
			OutputsTrainingRestriction: true,
			OutputsTrainingNote:        "outputs may be used for Research Purposes only (sections 3.2 and 4.2)",
			DerivativesMustCarry:       []Carry{CarryLicenseCopy, CarryNoticeFile, CarryModificationNotices, CarryUseRestrictions},
		},
		Source:  "the MRL text as embedded in the gated prompt of a Ministral-8B-Instruct-2410 model card (license_name: mrl, license_link: mistral.ai/licenses/MRL-0.1.md)",
		Notes:   "Other uses need a licence from Mistral AI. Derivatives, including fine-tunes, stay under the research-only limit. French law, Paris courts.",
		aliases: []string{"mrl", "mrl-0.1", "mistral-research", "mistral-research-license", "licenseref-mrl", "licenseref-mistral-mrl"},
		names:   []string{"mistral ai research license", "mistral research license", "mistral ai research license (mrl)"},
		links:   []string{"mistral.ai/licenses/mrl"},
		text: textRule{
			keys: []string{"Mistral AI Research License"},
			support: []string{
				"Research Purposes",
				"Mistral Models",
				"Derivatives made by or for Mistral AI",
				"Licensed by Mistral AI under the",
				"The courts of Paris",
			},
			min: 4,
		},
	},
	{
		ID:   "openrail++",
		Name: "CreativeML Open RAIL++-M License", URL: "https://github.com/Stability-AI/stablediffusion/blob/main/LICENSE-MODEL",
		Released: "24 November 2022", Family: FamilyOpenRAIL,
		Obligations: Obligations{
			CommercialUse:          CommercialAllowed,
			CommercialNote:         "royalty-free, including hosting for third parties",
			AcceptableUsePolicy:    true,
			AcceptableUsePolicyRef: "Attachment A",
			OutputsTrainingNote:    "a model trained on the outputs to perform similarly (distillation) is a derivative and inherits the use restrictions",
			DerivativesMustCarry:   carryOpenRAIL,
		},
		Source:  "Stability-AI/stablediffusion LICENSE-MODEL",
		Notes:   openRAILCarry + ". The licensor may restrict use remotely.",
		aliases: []string{"openrail++-m", "creativeml-openrail++-m", "licenseref-openrail++"},
		names:   []string{"creativeml open rail++-m", "creativeml open rail++-m license", "open rail++-m", "openrail++ license"},
		links:   []string{"stability-ai/stablediffusion/blob/main/license-model"},
		text: textRule{
			keys:    []string{"Open RAIL++-M"},
			support: append([]string{"dated November 24, 2022"}, openRAILSupport...),
			min:     4,
		},
	},
	{
		ID:   "qwen",
		Name: "Qwen License Agreement", URL: "https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE",
		Released: "19 September 2024", Family: FamilyCommunity,
		Obligations: Obligations{
			CommercialUse:        CommercialConditional,
			CommercialNote:       "allowed under the 100M monthly-active-user cap",
			UserCap:              qwenCap,
			UserCapAction:        qwenCapAction,
			AttributionText:      []string{"Built with Qwen", "Improved using Qwen"},
			AttributionNote:      "prominently, in the product documentation of an AI model created, trained, fine-tuned or improved with the materials or their outputs and then distributed or made available",
			NoticeFile:           true,
			OutputsTrainingNote:  "outputs may train other models, which then carry the \"Built with Qwen\" or \"Improved using Qwen\" display",
			DerivativesMustCarry: carryQwen,
		},
		Source:      "secondary: descriptions and quotations of the Qwen2.5-72B LICENSE (release date 19 September 2024), checked against the primary text of its research sibling (qwen-research); the primary text itself was not available",
		Provisional: true,
		Notes:       "Used by Qwen2.5-72B and some other Qwen2.5 sizes; most Qwen2.5 sizes and Qwen3 are Apache-2.0, so check per model. Chinese law, Hangzhou courts.",
		aliases:     []string{"qwen-license", "qwen-license-agreement", "licenseref-qwen"},
		names:       []string{"qwen license agreement", "qwen license"},
		text: textRule{
			keys: []string{"Qwen LICENSE AGREEMENT"},
			support: []string{
				"Qwen is licensed under the",
				"Alibaba Cloud",
				"100 million monthly active users",
				"Built with Qwen",
				"Improved using Qwen",
				"Qwen Materials",
				"People's Courts in Hangzhou City",
			},
			exclude: []string{"non-commercial"},
			min:     4,
		},
	},
	{
		ID:   "qwen-research",
		Name: "Qwen Research License Agreement", URL: "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE",
		Released: "19 September 2024", Family: FamilyResearch,
		Obligations: Obligations{
			CommercialUse:        CommercialNotAllowed,
			CommercialNote:       "granted for non-commercial purposes only (research or evaluation); commercial use needs a licence from Alibaba Cloud",
			AttributionText:      []string{"Built with Qwen", "Improved using Qwen"},
			AttributionNote:      "prominently, in the product documentation of an AI model created, trained, fine-tuned or improved with the materials or their outputs and then distributed or made available",
			NoticeFile:           true,
			OutputsTrainingNote:  "outputs may train other models, which then carry the \"Built with Qwen\" or \"Improved using Qwen\" display; the non-commercial limit still applies to the materials",
			DerivativesMustCarry: carryQwen,
		},
		Source:  "the Qwen RESEARCH LICENSE AGREEMENT (release date 19 September 2024) as vendored in roboflow/inference inference/models/qwen25vl/LICENSE.txt",
		Notes:   "Used by Qwen2.5-3B, Qwen2.5-VL-3B and others. Chinese law, Hangzhou courts.",
		aliases: []string{"qwen-research-license", "licenseref-qwen-research"},
		names:   []string{"qwen research license agreement", "qwen research license"},
		text: textRule{
			keys: []string{"Qwen RESEARCH LICENSE AGREEMENT"},
			support: []string{
				"Alibaba Cloud",
				"FOR NON-COMMERCIAL PURPOSES ONLY",
				"research or evaluation purposes only",
				"Built with Qwen",
				"Improved using Qwen",
				"Qwen Materials",
				"People's Courts in Hangzhou City",
			},
			min: 4,
		},
	},
	{
		ID:   "tongyi-qianwen",
		Name: "Tongyi Qianwen License Agreement", URL: "https://github.com/QwenLM/Qwen/blob/main/LICENSE",
		Released: "3 August 2023", Family: FamilyCommunity,
		Obligations: Obligations{
			CommercialUse:              CommercialConditional,
			CommercialNote:             "allowed under the 100M monthly-active-user cap",
			UserCap:                    qwenCap,
			UserCapAction:              qwenCapAction,
			NoticeFile:                 true,
			OutputsTrainingRestriction: true,
			OutputsTrainingNote:        "the materials and their outputs may not be used to improve any other large language model (Tongyi Qianwen and its derivatives excepted), section 5.b",
			DerivativesMustCarry:       carryQwen,
		},
		Source:  "QwenLM/Qwen LICENSE",
		Notes:   "Used by Qwen (1), Qwen1.5 and some Qwen2 models. Chinese law, Hangzhou courts.",
		aliases: []string{"tongyi-qianwen-license", "tongyi-qianwen-license-agreement", "qianwen", "licenseref-tongyi-qianwen"},
		names:   []string{"tongyi qianwen license agreement", "tongyi qianwen license", "qianwen license"},
		links:   []string{"qwenlm/qwen/blob/main/license", "qwenlm/qwen/blob/main/tongyi%20qianwen%20license%20agreement"},
		text: textRule{
			keys: []string{"Tongyi Qianwen LICENSE AGREEMENT", "Tongyi Qianwen Release Date"},
			support: []string{
				"Alibaba Cloud",
				"100 million monthly active users",
				"Tongyi Qianwen Materials",
				"improve any other large language model",
				"People's Courts in Hangzhou City",
			},
			exclude: []string{"Tongyi Qianwen RESEARCH LICENSE AGREEMENT"},
			min:     4,
		},
	},
}

// llamaObligations are the terms Llama 3.1 and later share.
func llamaObligations(aup string, regional []RegionalExclusion) Obligations {
	return Obligations{
		CommercialUse:          CommercialConditional,
		CommercialNote:         "allowed under the 700M monthly-active-user cap",
		UserCap:                llamaCap,
		UserCapAction:          llamaCapAction,
		AttributionText:        []string{"Built with Llama"},
		AttributionNote:        llamaAttrib,
		NoticeFile:             true,
		NamePrefix:             "Llama",
		NamingRule:             llamaNaming,
		AcceptableUsePolicy:    true,
		AcceptableUsePolicyRef: aup,
		OutputsTrainingNote:    llamaOutputs,
		RegionalExclusions:     regional,
		DerivativesMustCarry:   carryLlama,
	}
}

// llamaV builds a Llama licence entry; the versions differ only in names,
// dates, addresses and (from 3.1 on) the terms in llamaObligations.
func llamaV(id, name, url, released, path string, o Obligations, aliases, names, links, keys, support []string) License {
	return License{
		ID: id, Name: name, URL: url, Released: released,
		Family:      FamilyCommunity,
		Obligations: o,
		Source:      "meta-llama/llama-models " + path,
		Notes:       llamaNote,
		aliases:     aliases,
		names:       names,
		links:       links,
		text: textRule{
			keys:    keys,
			support: append(slices.Clone(support), llamaSupport...),
			min:     4,
		},
	}
}

// Indexes over the knowledge base, built once at start-up and never changed.
var (
	compiled = func() []compiledRule {
		out := make([]compiledRule, len(knowledgeBase))
		for i := range knowledgeBase {
			out[i] = compileRule(knowledgeBase[i].text)
		}
		return out
	}()
	idIndex  = buildIndex(func(l *License) []string { return []string{l.ID} })
	tagIndex = buildIndex(func(l *License) []string { return append([]string{l.ID}, l.aliases...) })
	// nameIndex is keyed by normalised names.
	nameIndex = func() map[string]int {
		m := map[string]int{}
		for i := range knowledgeBase {
			l := &knowledgeBase[i]
			for _, n := range append([]string{l.Name}, l.names...) {
				k := strings.TrimSpace(normalize(n))
				if j, dup := m[k]; dup && j != i {
					panic(fmt.Sprintf("license: name %q names both %s and %s", n, knowledgeBase[j].ID, l.ID))
				}
				m[k] = i
			}
		}
		return m
	}()
)

// buildIndex maps lower-cased keys to knowledge-base positions; a key that
// names two licences is a bug in the table.
func buildIndex(keys func(*License) []string) map[string]int {
	m := map[string]int{}
	for i := range knowledgeBase {
		for _, k := range keys(&knowledgeBase[i]) {
			k = strings.ToLower(k)
			if j, dup := m[k]; dup && j != i {
				panic(fmt.Sprintf("license: key %q names both %s and %s", k, knowledgeBase[j].ID, knowledgeBase[i].ID))
			}
			m[k] = i
		}
	}
	return m
}
